"""Square: ``GET /v2/merchants/me`` (read-only; the merchant the access token belongs to)."""

from __future__ import annotations

from typing import ClassVar

from crawler.config.model import Url
from verifiers.base import IdentityVerifier, VerifierOptions


class SquareOptions(VerifierOptions):
    api_url: Url = "https://connect.squareup.com"
    """API root (production); ``/v2/merchants/me`` is appended."""


class SquareVerifier(IdentityVerifier):
    """Square production access tokens (legacy ``sq0atp-``), asked for their merchant. ``EAAA`` tokens
    are not served: sandbox tokens share that prefix, and production's 401 to them would read as inactive."""

    kind = "square"
    Options = SquareOptions
    options: SquareOptions
    rules: ClassVar[frozenset[str]] = frozenset({"square-legacy-access-token"})
    provider = "Square"
    path = "/v2/merchants/me"
    live_key = "merchant"
    inactive_status = frozenset({401})
    docs = ("https://developer.squareup.com/reference/square/merchants-api/retrieve-merchant (merchant_id "
            "'me'; 200 {merchant: …}), https://developer.squareup.com/docs/build-basics/handling-errors "
            "(401 AUTHENTICATION_ERROR / UNAUTHORIZED)")
