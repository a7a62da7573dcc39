"""Brevo: ``GET /v3/account`` (read-only; the account of the key)."""

from __future__ import annotations

from typing import ClassVar

from crawler.config.model import Url
from verifiers.base import IdentityVerifier, VerifierOptions


class BrevoOptions(VerifierOptions):
    api_url: Url = "https://api.brevo.com"
    """API root; ``/v3/account`` is appended."""


class BrevoVerifier(IdentityVerifier):
    """Brevo tokens, asked who they are."""

    kind = "brevo"
    Options = BrevoOptions
    options: BrevoOptions
    rules: ClassVar[frozenset[str]] = frozenset({"brevo-api-key"})
    provider = "Brevo"
    path = "/v3/account"
    header = "api-key"
    scheme = ""
    extra_headers: ClassVar[dict[str, str]] = {'Accept': 'application/json'}
    live_key = "email"
    inactive_status = frozenset({401})
    docs = "https://developers.brevo.com/reference/getaccount (401 {'code': 'unauthorized'})"
