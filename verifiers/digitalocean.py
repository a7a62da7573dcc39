"""DigitalOcean: ``GET /v2/account`` (read-only; the account the token belongs to)."""

from __future__ import annotations

from typing import ClassVar

from crawler.config.model import Url
from crawler.detect.rules import Rule
from verifiers.base import Verdict, Verifier, VerifierOptions, has_key, unexpected


class DigitalOceanOptions(VerifierOptions):
    api_url: Url = "https://api.digitalocean.com"
    """API root; ``/v2/account`` is appended."""


class DigitalOceanVerifier(Verifier):
    """Personal access tokens (``dop_v1_``) and OAuth access tokens (``doo_v1_``)."""

    kind = "digitalocean"
    Options = DigitalOceanOptions
    options: DigitalOceanOptions
    rules: ClassVar[frozenset[str]] = frozenset({"digitalocean-pat", "digitalocean-oauth"})

    async def check(self, token: str, rule: Rule) -> Verdict:
        url = self.options.api_url.rstrip("/") + "/v2/account"
        resp = await self.request("GET", url, headers={"Authorization": f"Bearer {token}"})
        if resp.status_code == 401:
            # 401 {"id": "unauthorized", "message": "Unable to authenticate you."}: a revoked,
            # expired or unknown token. https://docs.digitalocean.com/reference/api/reference/account/
            return Verdict.inactive("DigitalOcean rejected the token (HTTP 401)")
        if has_key(resp, "account"):
            # 200 {"account": {"status": "active", …}} (same page as above).
            return Verdict.live("DigitalOcean accepted the token (HTTP 200)")
        # 403: a custom-scoped token without account:read; it says nothing definite.
        return unexpected("DigitalOcean", resp)
