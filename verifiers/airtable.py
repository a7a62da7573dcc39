"""Airtable: ``GET /v0/meta/whoami`` (read-only; the user id and scopes of the token)."""

from __future__ import annotations

from typing import ClassVar

from crawler.config.model import Url
from verifiers.base import IdentityVerifier, VerifierOptions


class AirtableOptions(VerifierOptions):
    api_url: Url = "https://api.airtable.com"
    """API root; ``/v0/meta/whoami`` is appended."""


class AirtableVerifier(IdentityVerifier):
    """Airtable personal access tokens, asked who they are."""

    kind = "airtable"
    Options = AirtableOptions
    options: AirtableOptions
    rules: ClassVar[frozenset[str]] = frozenset({"airtable-pat"})
    provider = "Airtable"
    path = "/v0/meta/whoami"
    live_key = "id"
    inactive_status = frozenset({401})
    docs = ("https://airtable.com/developers/web/api/get-user-id-scopes (200 {id, scopes}), "
            "https://support.airtable.com/docs/airtable-api-common-troubleshooting (401 authentication_required)")
