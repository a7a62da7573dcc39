"""DeepSeek: ``GET /models`` (read-only; lists the models)."""

from __future__ import annotations

from typing import ClassVar

from crawler.config.model import Url
from verifiers.base import IdentityVerifier, VerifierOptions


class DeepSeekOptions(VerifierOptions):
    api_url: Url = "https://api.deepseek.com"
    """API root; ``/models`` is appended."""


class DeepSeekVerifier(IdentityVerifier):
    """DeepSeek tokens, asked who they are."""

    kind = "deepseek"
    Options = DeepSeekOptions
    options: DeepSeekOptions
    rules: ClassVar[frozenset[str]] = frozenset({"deepseek-api-key"})
    provider = "DeepSeek"
    path = "/models"
    live_key = "data"
    inactive_status = frozenset({401})
    docs = ("https://api-docs.deepseek.com/api/list-models, https://api-docs.deepseek.com/quick_start/error_codes"
            " (401 Authentication Fails)")
