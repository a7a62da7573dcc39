"""Hugging Face: ``GET /api/whoami-v2`` (read-only; who the token belongs to)."""

from __future__ import annotations

from typing import ClassVar

from crawler.config.model import Url
from crawler.detect.rules import Rule
from verifiers.base import Verdict, Verifier, VerifierOptions, has_key, unexpected


class HuggingFaceOptions(VerifierOptions):
    api_url: Url = "https://huggingface.co"
    """Hub root; ``/api/whoami-v2`` is appended."""


class HuggingFaceVerifier(Verifier):
    """User access tokens (``hf_``)."""

    kind = "huggingface"
    Options = HuggingFaceOptions
    options: HuggingFaceOptions
    rules: ClassVar[frozenset[str]] = frozenset({"huggingface-token"})

    async def check(self, token: str, rule: Rule) -> Verdict:
        url = self.options.api_url.rstrip("/") + "/api/whoami-v2"
        resp = await self.request("GET", url, headers={"Authorization": f"Bearer {token}"})
        if resp.status_code == 401:
            # 401 {"error": "Invalid credentials in Authorization header"}: a deleted or unknown
            # token. https://huggingface.co/docs/huggingface_hub/package_reference/hf_api (whoami)
            return Verdict.inactive("Hugging Face rejected the token (HTTP 401)")
        if has_key(resp, "name"):
            # 200 {"type": "user" | "org" | "app", "name": …, "auth": {…}}: the token authenticated.
            # https://huggingface.co/docs/hub/api#get-apiwhoami-v2
            return Verdict.live("Hugging Face accepted the token (HTTP 200)")
        return unexpected("Hugging Face", resp)
