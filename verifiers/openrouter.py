"""OpenRouter: ``GET /api/v1/key`` (read-only; the API key of the request)."""

from __future__ import annotations

from typing import ClassVar

from crawler.config.model import Url
from verifiers.base import IdentityVerifier, VerifierOptions


class OpenRouterOptions(VerifierOptions):
    api_url: Url = "https://openrouter.ai"
    """API root; ``/api/v1/key`` is appended."""


class OpenRouterVerifier(IdentityVerifier):
    """OpenRouter API keys, asked who they are."""

    kind = "openrouter"
    Options = OpenRouterOptions
    options: OpenRouterOptions
    rules: ClassVar[frozenset[str]] = frozenset({"openrouter-api-key"})
    provider = "OpenRouter"
    path = "/api/v1/key"
    live_key = "data"
    inactive_status = frozenset({401})
    docs = ("https://openrouter.ai/docs/api/api-reference/api-keys/get-current-key (200 {data: …}; "
            "401 invalid credentials)")
