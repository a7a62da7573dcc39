"""Cloudflare: ``GET /client/v4/user/tokens/verify`` (read-only; verifies the API token itself)."""

from __future__ import annotations

from typing import Any, ClassVar

from crawler.config.model import Url
from verifiers.base import IdentityVerifier, Verdict, VerifierOptions


class CloudflareOptions(VerifierOptions):
    api_url: Url = "https://api.cloudflare.com"
    """API root; ``/client/v4/user/tokens/verify`` is appended."""


class CloudflareVerifier(IdentityVerifier):
    """Cloudflare tokens, asked who they are."""

    kind = "cloudflare"
    Options = CloudflareOptions
    options: CloudflareOptions
    rules: ClassVar[frozenset[str]] = frozenset({"cloudflare-api-token-env", "cloudflare-api-token-cf-env"})
    provider = "Cloudflare"
    path = "/client/v4/user/tokens/verify"
    live_key = "result"
    inactive_status = frozenset({401})
    docs = ("https://developers.cloudflare.com/api/resources/user/subresources/tokens/methods/verify/"
            " (401 code 1000 'Invalid API Token')")

    def judge(self, body: dict[str, Any]) -> Verdict | None:
        result = body["result"]
        status = result.get("status") if isinstance(result, dict) else None
        if status in ("disabled", "expired"):
            # result.status is "active", "disabled" or "expired" (the verify endpoint's documented values).
            return Verdict.inactive(f"Cloudflare: the token is {status}")
        return None if status == "active" else Verdict.unknown("Cloudflare answered without a token status")
