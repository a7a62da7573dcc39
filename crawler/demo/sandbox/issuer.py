"""A fake token issuer: RFC 7662 introspection, RFC 7009 revocation and a ``whoami`` endpoint.

* ``POST /oauth2/introspect`` (form ``token``, optional ``token_type_hint``) with HTTP Basic client
  authentication; answers ``{"active": true, "client_id", "scope", "exp", "iat", "token_type"}`` for a
  live token and ``{"active": false}`` for anything else (RFC 7662 §2.2). A bad or missing client
  authentication gets 401 ``{"error": "invalid_client"}`` (RFC 6749 §5.2).
* ``POST /oauth2/revoke`` (RFC 7009 §2): same client authentication; always 200.
* ``GET /v1/whoami`` with ``Authorization: Bearer <token>``: 200 with the token's client, or 401
  with ``WWW-Authenticate: Bearer error="invalid_token"`` (RFC 6750 §3).

Tokens are kept by SHA-256 only and never logged; the request log keeps the auth scheme only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sources.fakes.service import Service, json_response


@dataclass(frozen=True)
class Grant:
    client_id: str
    scope: str
    issued: int
    expires: int | None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class IssuerService(Service):
    """The issuer. ``add_live``/``revoke``/``is_live`` manage its tokens from Python."""

    name = "issuer"
    prefix = "/issuer"

    def __init__(self, client_id: str = "leakpatrol", client_secret: str | None = None) -> None:
        self.client_id = client_id
        self.client_secret = client_secret or secrets.token_urlsafe(24)
        self._live: dict[str, Grant] = {}
        self.revoked: set[str] = set()
        """SHA-256 of tokens revoked (through :meth:`revoke` or ``/oauth2/revoke``)."""
        super().__init__()

    @property
    def introspection_url(self) -> str:
        return self.base_url + "/oauth2/introspect"

    @property
    def whoami_url(self) -> str:
        return self.base_url + "/v1/whoami"

    def routes(self) -> list[BaseRoute]:
        return [Route("/oauth2/introspect", self.introspect, methods=["POST"]),
                Route("/oauth2/revoke", self.revoke_endpoint, methods=["POST"]),
                Route("/v1/whoami", self.whoami)]

    # ---- Python API --------------------------------------------------------------------------

    def add_live(self, token: str, *, scope: str = "read", client_id: str = "demo-app",
                 ttl: float | None = 30 * 86400.0) -> None:
        now = int(time.time())
        with self.lock:
            self._live[_digest(token)] = Grant(client_id, scope, now, None if ttl is None else now + int(ttl))
            self.revoked.discard(_digest(token))

    def revoke(self, token: str) -> bool:
        """Revoke ``token``; ``True`` if it was live."""
        digest = _digest(token)
        with self.lock:
            self.revoked.add(digest)
            return self._live.pop(digest, None) is not None

    def is_live(self, token: str) -> bool:
        return self._grant(_digest(token)) is not None

    def _grant(self, digest: str) -> Grant | None:
        with self.lock:
            grant = self._live.get(digest)
        if grant is not None and grant.expires is not None and grant.expires <= time.time():
            return None
        return grant

    # ---- HTTP --------------------------------------------------------------------------------

    def _client_ok(self, request: Request) -> bool:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return hmac.compare_digest(user, self.client_id) and hmac.compare_digest(password, self.client_secret)

    @staticmethod
    async def _form_token(request: Request) -> str:
        """``token`` from an ``application/x-www-form-urlencoded`` body (no multipart needed)."""
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return ""
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        return form.get("token", [""])[0]

    @staticmethod
    def _invalid_client() -> Response:
        return json_response({"error": "invalid_client"}, 401,
                             {"WWW-Authenticate": 'Basic realm="issuer"', "Cache-Control": "no-store"})

    async def introspect(self, request: Request) -> Response:
        if not self._client_ok(request):
            return self._invalid_client()
        token = await self._form_token(request)
        if not token:
            return json_response({"error": "invalid_request"}, 400, {"Cache-Control": "no-store"})
        grant = self._grant(_digest(token))
        if grant is None:
            return json_response({"active": False}, headers={"Cache-Control": "no-store"})
        body: dict[str, object] = {"active": True, "client_id": grant.client_id, "scope": grant.scope,
                                   "token_type": "Bearer", "iat": grant.issued, "iss": self.base_url}
        if grant.expires is not None:
            body["exp"] = grant.expires
        return json_response(body, headers={"Cache-Control": "no-store"})

    async def revoke_endpoint(self, request: Request) -> Response:
        if not self._client_ok(request):
            return self._invalid_client()
        token = await self._form_token(request)
        if token:
            self.revoke(token)
        return Response(status_code=200)

    async def whoami(self, request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        grant = self._grant(_digest(token.strip())) if scheme.lower() == "bearer" and token.strip() else None
        if grant is None:
            return json_response({"message": "Bad credentials"}, 401,
                                 {"WWW-Authenticate": 'Bearer realm="issuer", error="invalid_token"'})
        return json_response({"client_id": grant.client_id, "scope": grant.scope})
