"""Mistral AI: ``GET /v1/models`` (read-only; lists the models)."""

from __future__ import annotations

from typing import ClassVar

from crawler.config.model import Url
from verifiers.base import IdentityVerifier, VerifierOptions


class MistralOptions(VerifierOptions):
    api_url: Url = "https://api.mistral.ai"
    """API root; ``/v1/models`` is appended."""


class MistralVerifier(IdentityVerifier):
    """Mistral AI tokens, asked who they are."""

    kind = "mistral"
    Options = MistralOptions
    options: MistralOptions
    rules: ClassVar[frozenset[str]] = frozenset({"mistral-api-key-env"})
    provider = "Mistral AI"
    path = "/v1/models"
    live_key = "data"
    inactive_status = frozenset({401})
    docs = "https://docs.mistral.ai/api/#tag/models/operation/list_models_v1_models_get (401 Unauthorized)"
