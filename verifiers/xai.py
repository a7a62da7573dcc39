"""xAI: ``GET /v1/api-key`` (read-only; information about the key that authenticates the call)."""

from __future__ import annotations

from typing import Any, ClassVar

from crawler.config.model import Url
from verifiers.base import IdentityVerifier, Verdict, VerifierOptions


class XaiOptions(VerifierOptions):
    api_url: Url = "https://api.x.ai"
    """API root; ``/v1/api-key`` is appended."""


class XaiVerifier(IdentityVerifier):
    """xAI API keys, asked who they are."""

    kind = "xai"
    Options = XaiOptions
    options: XaiOptions
    rules: ClassVar[frozenset[str]] = frozenset({"xai-api-key"})
    provider = "xAI"
    path = "/v1/api-key"
    live_key = "api_key_id"
    inactive_status = frozenset({400})
    docs = ("https://docs.x.ai/docs/api-reference#get-api-key-info (200 ApiKey with api_key_blocked, "
            "api_key_disabled, team_blocked; 400 'an invalid API key is provided')")

    def judge(self, body: dict[str, Any]) -> Verdict | None:
        # The documented booleans: a blocked or disabled key is refused for every call.
        for flag in ("api_key_disabled", "api_key_blocked"):
            if body.get(flag) is True:
                return Verdict.inactive(f"xAI: {flag.removeprefix('api_key_')}")
        if body.get("team_blocked") is True:
            return Verdict.unknown("xAI: the key's team is blocked (may be lifted)")
        return None
