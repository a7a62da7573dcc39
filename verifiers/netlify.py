"""Netlify: ``GET /api/v1/user`` (read-only; the current user)."""

from __future__ import annotations

from typing import ClassVar

from crawler.config.model import Url
from verifiers.base import IdentityVerifier, VerifierOptions


class NetlifyOptions(VerifierOptions):
    api_url: Url = "https://api.netlify.com"
    """API root; ``/api/v1/user`` is appended."""


class NetlifyVerifier(IdentityVerifier):
    """Netlify tokens, asked who they are."""

    kind = "netlify"
    Options = NetlifyOptions
    options: NetlifyOptions
    rules: ClassVar[frozenset[str]] = frozenset({"netlify-pat"})
    provider = "Netlify"
    path = "/api/v1/user"
    live_key = "id"
    inactive_status = frozenset({401})
    docs = "https://open-api.netlify.com/#tag/user/operation/getCurrentUser (401 Unauthorized)"
