"""GitHub credentials for the sources that fetch pushes: personal tokens and GitHub App installations,
pooled, each request sent with the credential that has the most budget left.

A GitHub App authenticates as itself with a JWT (RS256, signed with the app's private key, ``iss`` =
the app id, at most 10 minutes long) and trades it for an installation token
(``POST /app/installations/{id}/access_tokens`` → ``201 {"token", "expires_at"}``, valid one hour),
refreshed here five minutes before it expires. Docs:
https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app,
https://docs.github.com/en/rest/apps/apps#create-an-installation-access-token-for-an-app

Budget: every response's ``X-RateLimit-Remaining``/``-Reset`` (resource ``core``) is kept per
credential, and counted down locally for requests in flight, so a pool never sends a request it
knows its credential cannot pay for. A rate-limited answer (403/429: spent quota, secondary limit,
``Retry-After``) blocks that credential for the wait and the request goes again with the next one;
when every credential is spent the pool raises :class:`RateLimited` with the earliest time one comes
back, so the fetch queue slows down instead of collecting 403s. :class:`CredentialPool` is an
``httpx.Auth``: it only ever authenticates requests to the API host.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import jwt
from pydantic import Field

from crawler.config.model import PluginOptions, secret
from crawler.kernel.errors import RateLimited, SourceDisabled
from crawler.kernel.retry import rate_limit_wait

logger = logging.getLogger(__name__)
REFRESH_BEFORE = 300.0
"""Seconds before an installation token expires when a new one is asked for."""
JWT_LIFETIME = 540
"""Seconds; GitHub accepts at most 600, and the ``iat`` is set 60 s in the past against clock drift."""
BROKEN_WAIT = 3600.0
"""A credential GitHub refuses (bad key, app uninstalled) is left out this long (one log line)."""


class GithubApp(PluginOptions):
    """``[[sources.<name>.apps]]``: one GitHub App installation."""

    app_id: int = Field(gt=0)
    installation_id: int = Field(gt=0)
    private_key_env: str = ""
    """Environment variable holding the app's private key (PEM)."""
    private_key_file: Path | None = None
    """…or the file holding it."""

    def private_key(self) -> str | None:
        if self.private_key_env:
            return secret(self.private_key_env)
        if self.private_key_file is not None:
            try:
                return self.private_key_file.read_text("utf-8")
            except OSError:
                return None
        return None


@dataclass
class Credential:
    name: str
    """How logs name it (the environment variable or ``app 123``; never the secret)."""
    token: str | None = None
    app: GithubApp | None = None
    key: str | None = None
    expires: float = 0.0
    remaining: int | None = None
    reset: float = 0.0
    blocked_until: float = 0.0

    def budget(self, now: float) -> float:
        """Requests it can still pay for now (unknown: as good as a fresh one)."""
        if self.blocked_until > now:
            return 0
        if self.remaining is None or self.reset <= now:
            return float("inf")
        return self.remaining

    def back_at(self) -> float:
        return max(self.blocked_until, self.reset if self.remaining == 0 else 0.0)


def credentials(token_envs: Sequence[str], apps: Sequence[GithubApp]) -> list[Credential]:
    """The credentials the environment holds: one per set token variable, one per app with its key."""
    out = [Credential(env, token=value) for env in dict.fromkeys(token_envs) if (value := secret(env))]
    return out + [Credential(f"app {a.app_id}", app=a, key=k) for a in apps if (k := a.private_key())]


class CredentialPool(httpx.Auth):
    """Authenticates requests to ``api_url`` with the credential that has the most budget left."""

    def __init__(self, owner: str, api_url: str, creds: Sequence[Credential],
                 clock: Callable[[], datetime]) -> None:
        self.owner, self.api_url, self.creds, self.clock = owner, api_url.rstrip("/"), list(creds), clock
        self.host = httpx.URL(self.api_url).host

    def _now(self) -> float:
        return self.clock().timestamp()

    def pick(self, skip: set[str]) -> Credential:
        """The credential with the most budget; :class:`RateLimited` when none can pay now."""
        now = self._now()
        usable = [c for c in self.creds if c.name not in skip and c.budget(now) > 0]
        if not usable:
            back = min((c.back_at() for c in self.creds), default=now + 60.0)
            raise RateLimited(self.owner, max(1.0, back - now), "every GitHub credential is spent")
        return max(usable, key=lambda c: c.budget(now))

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if request.url.host != self.host or not self.creds:
            yield request
            return
        tried: set[str] = set()
        while True:
            cred = self.pick(tried)
            if cred.app is not None and cred.expires - REFRESH_BEFORE <= self._now():
                answer = yield self._token_request(cred)
                await answer.aread()
                if not self._accept_token(cred, answer):
                    tried.add(cred.name)
                    continue
            request.headers["Authorization"] = f"Bearer {cred.token}"
            if cred.remaining is not None and cred.reset > self._now():
                cred.remaining = max(0, cred.remaining - 1)  # in flight: paid for before the answer says so
            response = yield request
            if response.status_code in (403, 429):
                await response.aread()  # small; the secondary-limit message is in the body
            if not self.observe(cred, response):
                return
            tried.add(cred.name)
            if all(c.name in tried or c.budget(self._now()) <= 0 for c in self.creds):
                return  # nobody else can pay: the retry policy turns the answer into a back-off

    def observe(self, cred: Credential, response: httpx.Response) -> bool:
        """Keep the budget the answer reports; ``True`` if it was a rate limit (the credential waits)."""
        now = self._now()
        h = response.headers
        if h.get("X-RateLimit-Resource", "core") == "core" and (h.get("X-RateLimit-Remaining") or "").isdigit():
            remaining = int(h["X-RateLimit-Remaining"])
            reset = float(h["X-RateLimit-Reset"]) if (h.get("X-RateLimit-Reset") or "").isdigit() else now + 3600.0
            if reset > cred.reset or cred.remaining is None:  # a new window
                cred.remaining, cred.reset = remaining, reset
            else:
                cred.remaining = min(cred.remaining, remaining)
        wait = rate_limit_wait(response, now)
        if wait is None:
            return False
        cred.blocked_until = max(cred.blocked_until, now + wait)
        logger.info("%s: GitHub credential %s rate limited for %.0fs", self.owner, cred.name, wait)
        return True

    def _token_request(self, cred: Credential) -> httpx.Request:
        assert cred.app is not None and cred.key is not None
        now = int(self._now())
        try:
            signed = jwt.encode({"iat": now - 60, "exp": now + JWT_LIFETIME, "iss": str(cred.app.app_id)},
                                cred.key, algorithm="RS256")
        except (ValueError, TypeError, jwt.PyJWTError) as exc:
            raise SourceDisabled(self.owner, f"GitHub App {cred.app.app_id}: the private key cannot sign "
                                             f"({type(exc).__name__})") from None
        url = f"{self.api_url}/app/installations/{cred.app.installation_id}/access_tokens"
        return httpx.Request("POST", url, headers={"Authorization": f"Bearer {signed}",
                                                   "Accept": "application/vnd.github+json",
                                                   "X-GitHub-Api-Version": "2022-11-28"})

    def _accept_token(self, cred: Credential, answer: httpx.Response) -> bool:
        try:
            body = answer.json() if answer.status_code == 201 else {}
        except ValueError:
            body = {}
        token, expires = body.get("token"), _epoch(body.get("expires_at"))
        if not isinstance(token, str) or not token or expires is None:
            cred.blocked_until = self._now() + BROKEN_WAIT
            logger.error("%s: GitHub App %s: no installation token (HTTP %d); left out for %.0f s",
                         self.owner, cred.app.app_id if cred.app else "?", answer.status_code, BROKEN_WAIT)
            return False
        cred.token, cred.expires = token, expires
        cred.remaining = None  # a new token has its own budget; its first answer tells
        return True


def _epoch(value: object) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
