"""Postmark: ``GET /server`` (read-only; the server the token belongs to)."""

from __future__ import annotations

from typing import ClassVar

from crawler.config.model import Url
from verifiers.base import IdentityVerifier, VerifierOptions


class PostmarkOptions(VerifierOptions):
    api_url: Url = "https://api.postmarkapp.com"
    """API root; ``/server`` is appended."""


class PostmarkVerifier(IdentityVerifier):
    """Postmark tokens, asked who they are."""

    kind = "postmark"
    Options = PostmarkOptions
    options: PostmarkOptions
    rules: ClassVar[frozenset[str]] = frozenset({"postmark-server-token-env", "postmark-api-token-env"})
    provider = "Postmark"
    path = "/server"
    header = "X-Postmark-Server-Token"
    scheme = ""
    extra_headers: ClassVar[dict[str, str]] = {'Accept': 'application/json'}
    live_key = "ID"
    inactive_status = frozenset({401})
    docs = ("https://postmarkapp.com/developer/api/server-api#get-server,"
            " https://postmarkapp.com/developer/api/overview#response-codes"
            " (401 missing or incorrect token)")
