"""Groq: ``GET /openai/v1/models`` (read-only; lists the models the key may use)."""

from __future__ import annotations

from typing import ClassVar

from crawler.config.model import Url
from verifiers.base import IdentityVerifier, VerifierOptions


class GroqOptions(VerifierOptions):
    api_url: Url = "https://api.groq.com"
    """API root; ``/openai/v1/models`` is appended."""


class GroqVerifier(IdentityVerifier):
    """Groq tokens, asked who they are."""

    kind = "groq"
    Options = GroqOptions
    options: GroqOptions
    rules: ClassVar[frozenset[str]] = frozenset({"groq-api-key"})
    provider = "Groq"
    path = "/openai/v1/models"
    live_key = "data"
    inactive_status = frozenset({401})
    docs = ("https://console.groq.com/docs/api-reference#models-list, https://console.groq.com/docs/errors"
            " (401 invalid_api_key)")
