"""Supabase Management API: ``GET /v1/projects`` (read-only; the projects the access token can see)."""

from __future__ import annotations

from typing import ClassVar

import httpx

from crawler.config.model import Url
from verifiers.base import IdentityVerifier, VerifierOptions


class SupabaseOptions(VerifierOptions):
    api_url: Url = "https://api.supabase.com"
    """API root; ``/v1/projects`` is appended."""


class SupabaseVerifier(IdentityVerifier):
    """Supabase personal access tokens (``sbp_``), asked for their projects."""

    kind = "supabase"
    Options = SupabaseOptions
    options: SupabaseOptions
    rules: ClassVar[frozenset[str]] = frozenset({"supabase-access-token"})
    provider = "Supabase"
    path = "/v1/projects"
    live_key = ""
    inactive_status = frozenset({401})
    docs = ("https://supabase.com/docs/reference/api/introduction (Authorization: Bearer sbp_…; "
            "GET /v1/projects → 200 a JSON array of projects; 401 Unauthorized; 429 past 60 requests/min)")

    def accepted(self, resp: httpx.Response) -> bool:
        # The documented success body is a JSON array (possibly empty: a new account has no project).
        return resp.is_success and isinstance(resp.json(), list)
