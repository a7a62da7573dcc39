"""Replicate: ``GET /v1/account`` (read-only; the account the API token belongs to)."""

from __future__ import annotations

from typing import ClassVar

from crawler.config.model import Url
from verifiers.base import IdentityVerifier, VerifierOptions


class ReplicateOptions(VerifierOptions):
    api_url: Url = "https://api.replicate.com"
    """API root; ``/v1/account`` is appended."""


class ReplicateVerifier(IdentityVerifier):
    """Replicate API tokens, asked who they are."""

    kind = "replicate"
    Options = ReplicateOptions
    options: ReplicateOptions
    rules: ClassVar[frozenset[str]] = frozenset({"replicate-api-token"})
    provider = "Replicate"
    path = "/v1/account"
    live_key = "username"
    inactive_status = frozenset({401})
    docs = ("https://replicate.com/docs/reference/http#account.get (200 {type, username, name}; "
            "401 Unauthenticated)")
