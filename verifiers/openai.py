"""OpenAI: ``GET /v1/models`` (read-only; lists the models the key may use)."""

from __future__ import annotations

from typing import ClassVar

from crawler.config.model import Url
from crawler.detect.rules import Rule
from verifiers.base import Verdict, Verifier, VerifierOptions, has_key, unexpected


class OpenAIOptions(VerifierOptions):
    api_url: Url = "https://api.openai.com"
    """API root; ``/v1/models`` is appended."""


class OpenAIVerifier(Verifier):
    """Project, service-account and legacy user API keys (``sk-``)."""

    kind = "openai"
    Options = OpenAIOptions
    options: OpenAIOptions
    rules: ClassVar[frozenset[str]] = frozenset({
        "openai-api-key", "openai-service-account-key", "openai-api-key-legacy",
    })

    async def check(self, token: str, rule: Rule) -> Verdict:
        url = self.options.api_url.rstrip("/") + "/v1/models"
        resp = await self.request("GET", url, headers={"Authorization": f"Bearer {token}"})
        if resp.status_code == 401:
            # 401 "Invalid Authentication" / "Incorrect API key provided": a revoked, deleted or
            # unknown key. https://platform.openai.com/docs/guides/error-codes#api-errors
            return Verdict.inactive("OpenAI rejected the key (HTTP 401)")
        if has_key(resp, "data"):
            # 200 {"object": "list", "data": [...]}:
            # https://platform.openai.com/docs/api-reference/models/list
            return Verdict.live("OpenAI accepted the key (HTTP 200)")
        # 403 (region or restricted-key permission) and 429 (quota) say nothing definite.
        return unexpected("OpenAI", resp)
