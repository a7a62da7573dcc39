"""Notion: ``GET /v1/users/me`` (read-only; the bot user of the integration token)."""

from __future__ import annotations

from typing import ClassVar

from crawler.config.model import Url
from verifiers.base import IdentityVerifier, VerifierOptions


class NotionOptions(VerifierOptions):
    api_url: Url = "https://api.notion.com"
    """API root; ``/v1/users/me`` is appended."""


class NotionVerifier(IdentityVerifier):
    """Notion integration tokens, asked who they are."""

    kind = "notion"
    Options = NotionOptions
    options: NotionOptions
    rules: ClassVar[frozenset[str]] = frozenset({"notion-integration-token"})
    provider = "Notion"
    path = "/v1/users/me"
    extra_headers: ClassVar[dict[str, str]] = {"Notion-Version": "2022-06-28"}
    live_key = "id"
    inactive_status = frozenset({401})
    docs = ("https://developers.notion.com/reference/get-self (200 a user object), "
            "https://developers.notion.com/reference/status-codes (401 unauthorized: the bearer token is not valid)")
