"""Vercel: ``GET /v2/user`` (read-only; the currently authenticated user)."""

from __future__ import annotations

from typing import ClassVar

from crawler.config.model import Url
from verifiers.base import IdentityVerifier, VerifierOptions


class VercelOptions(VerifierOptions):
    api_url: Url = "https://api.vercel.com"
    """API root; ``/v2/user`` is appended."""


class VercelVerifier(IdentityVerifier):
    """Vercel access tokens, asked who they are. A 403 stays ``unknown``: Vercel answers it both for a
    bad token and for a live token scoped to a team without account-level access (docs below)."""

    kind = "vercel"
    Options = VercelOptions
    options: VercelOptions
    rules: ClassVar[frozenset[str]] = frozenset({"vercel-token-env"})
    provider = "Vercel"
    path = "/v2/user"
    live_key = "user"
    inactive_status = frozenset({401})
    docs = ("https://vercel.com/docs/rest-api/user/get-the-user (200 {user: …}, bearer), "
            "https://vercel.com/docs/rest-api/errors and https://vercel.com/docs/sdk#troubleshooting "
            "(401 unauthorized; 403 also for expired or wrongly scoped tokens)")
