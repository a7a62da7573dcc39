"""Anthropic: ``GET /v1/models`` (read-only; lists the models the key may use)."""

from __future__ import annotations

from typing import ClassVar

from crawler.config.model import Url
from crawler.detect.rules import Rule
from verifiers.base import Verdict, Verifier, VerifierOptions, has_key, unexpected

API_VERSION = "2023-06-01"


class AnthropicOptions(VerifierOptions):
    api_url: Url = "https://api.anthropic.com"
    """API root; ``/v1/models`` is appended."""


class AnthropicVerifier(Verifier):
    """Claude API keys (``sk-ant-api03-``)."""

    kind = "anthropic"
    Options = AnthropicOptions
    options: AnthropicOptions
    rules: ClassVar[frozenset[str]] = frozenset({"anthropic-api-key"})

    async def check(self, token: str, rule: Rule) -> Verdict:
        url = self.options.api_url.rstrip("/") + "/v1/models"
        resp = await self.request("GET", url, headers={"x-api-key": token, "anthropic-version": API_VERSION})
        if resp.status_code == 401:
            # 401 authentication_error: "There's an issue with your API key" (revoked, expired,
            # malformed). https://docs.anthropic.com/en/api/errors#http-errors
            return Verdict.inactive("Anthropic rejected the key (HTTP 401 authentication_error)")
        if has_key(resp, "data"):
            # 200 {"data": [...], "has_more": …}: https://docs.anthropic.com/en/api/models-list
            return Verdict.live("Anthropic accepted the key (HTTP 200)")
        # 403 permission_error, 429 rate_limit_error, 529 overloaded_error: nothing definite.
        return unexpected("Anthropic", resp)
