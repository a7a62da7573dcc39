"""RFC 7662 token introspection: the issuer's own answer about its own tokens.

``POST url`` with the form ``token=…&token_type_hint=…`` and HTTP Basic client authentication
(RFC 6749 §2.3.1: client id and secret form-urlencoded, then base64). The client secret is read
from the environment variable ``client_secret_env`` names; without it the verifier answers
``unknown`` and sends nothing.
"""

from __future__ import annotations

import base64
import logging
from urllib.parse import quote

from crawler.config.model import Url, secret
from crawler.detect.rules import Rule
from verifiers.base import Verdict, Verifier, VerifierOptions, json_object, unexpected

logger = logging.getLogger(__name__)
RFC = "https://datatracker.ietf.org/doc/html/rfc7662#section-2.2"


class IntrospectionOptions(VerifierOptions):
    url: Url
    """The introspection endpoint."""
    client_id: str
    client_secret_env: str
    """Environment variable holding the client secret."""
    token_type_hint: str = "access_token"


def basic_auth(client_id: str, client_secret: str) -> str:
    """RFC 6749 §2.3.1: both parts are form-urlencoded before they are joined and encoded."""
    pair = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode()).decode("ascii")


class IntrospectionVerifier(Verifier):
    """Generic OAuth 2.0 introspection (RFC 7662) for the organisation's own tokens."""

    kind = "introspection"
    Options = IntrospectionOptions
    options: IntrospectionOptions
    _warned = False

    async def check(self, token: str, rule: Rule) -> Verdict:
        client_secret = secret(self.options.client_secret_env)
        if client_secret is None:
            if not self._warned:
                self._warned = True
                logger.warning("verifier %s: $%s is not set; its tokens stay unknown",
                               self.id, self.options.client_secret_env)
            return Verdict.unknown(f"client secret ${self.options.client_secret_env} is not set")
        resp = await self.request(
            "POST", self.options.url,
            data={"token": token, "token_type_hint": self.options.token_type_hint},
            headers={"Authorization": basic_auth(self.options.client_id, client_secret),
                     "Accept": "application/json"},
        )
        if resp.status_code != 200:
            # 401/403 here mean *our* client credentials were refused, never the token (RFC 7662 §2.3).
            return unexpected("the introspection endpoint", resp)
        active = json_object(resp).get("active")
        if active is True:
            # {"active": true, …}: issued by this server, not revoked, within its validity (RFC above).
            return Verdict.live("introspection: active")
        if active is False:
            # {"active": false}: expired, revoked, or never issued by this server.
            # https://datatracker.ietf.org/doc/html/rfc7662#section-2.2
            return Verdict.inactive("introspection: not active")
        return Verdict.unknown("introspection answer has no boolean 'active'")
