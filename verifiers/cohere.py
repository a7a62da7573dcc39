"""Cohere: ``POST /v1/check-api-key`` (read-only, no body; checks the key in the header)."""

from __future__ import annotations

from typing import Any, ClassVar

from crawler.config.model import Url
from verifiers.base import IdentityVerifier, Verdict, VerifierOptions


class CohereOptions(VerifierOptions):
    api_url: Url = "https://api.cohere.com"
    """API root; ``/v1/check-api-key`` is appended."""


class CohereVerifier(IdentityVerifier):
    """Cohere API keys, asked whether they are valid."""

    kind = "cohere"
    Options = CohereOptions
    options: CohereOptions
    rules: ClassVar[frozenset[str]] = frozenset({"cohere-api-key-env", "cohere-api-key-cohere-env"})
    provider = "Cohere"
    path = "/v1/check-api-key"
    method = "POST"
    live_key = "valid"
    inactive_status = frozenset({401})
    docs = "https://docs.cohere.com/reference/check-api-key (200 {valid, organization_id, owner_id}; 401)"

    def judge(self, body: dict[str, Any]) -> Verdict | None:
        # ``valid`` is the documented boolean; a 200 that says false is not a documented rejection.
        return None if body["valid"] is True else Verdict.unknown("Cohere answered 200 without valid=true")
