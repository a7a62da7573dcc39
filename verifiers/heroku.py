"""Heroku: ``GET /account`` (read-only; the account the key belongs to)."""

from __future__ import annotations

from typing import ClassVar

from crawler.config.model import Url
from verifiers.base import IdentityVerifier, VerifierOptions


class HerokuOptions(VerifierOptions):
    api_url: Url = "https://api.heroku.com"
    """API root; ``/account`` is appended."""


class HerokuVerifier(IdentityVerifier):
    """Heroku tokens, asked who they are."""

    kind = "heroku"
    Options = HerokuOptions
    options: HerokuOptions
    rules: ClassVar[frozenset[str]] = frozenset({"heroku-api-key"})
    provider = "Heroku"
    path = "/account"
    extra_headers: ClassVar[dict[str, str]] = {'Accept': 'application/vnd.heroku+json; version=3'}
    live_key = "id"
    inactive_status = frozenset({401})
    docs = "https://devcenter.heroku.com/articles/platform-api-reference#account-info (401 id 'unauthorized')"
