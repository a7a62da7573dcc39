"""npm: ``GET /-/whoami`` on the registry (read-only; what ``npm whoami`` calls)."""

from __future__ import annotations

from typing import ClassVar

from crawler.config.model import Url
from crawler.detect.rules import Rule
from verifiers.base import Verdict, Verifier, VerifierOptions, has_key, unexpected


class NpmOptions(VerifierOptions):
    api_url: Url = "https://registry.npmjs.org"
    """Registry root; ``/-/whoami`` is appended."""


class NpmVerifier(Verifier):
    """npm access tokens (``npm_``)."""

    kind = "npm"
    Options = NpmOptions
    options: NpmOptions
    rules: ClassVar[frozenset[str]] = frozenset({"npm-token"})

    async def check(self, token: str, rule: Rule) -> Verdict:
        url = self.options.api_url.rstrip("/") + "/-/whoami"
        resp = await self.request("GET", url, headers={"Authorization": f"Bearer {token}"})
        if resp.status_code == 401:
            # The registry answers 401 (npm's E401) for a token it does not accept: revoked,
            # expired or never issued. https://docs.npmjs.com/common-errors#error-401-unauthorized
            return Verdict.inactive("npm rejected the token (HTTP 401)")
        if has_key(resp, "username"):
            # 200 {"username": …}: the user the token belongs to.
            # https://docs.npmjs.com/cli/v10/commands/npm-whoami
            return Verdict.live("npm accepted the token (HTTP 200)")
        return unexpected("npm", resp)
