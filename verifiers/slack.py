"""Slack: ``POST auth.test`` (read-only: it only says who the token belongs to).

Slack answers HTTP 200 for nearly everything; the verdict is in ``ok`` and ``error``.
"""

from __future__ import annotations

from typing import ClassVar

from crawler.config.model import Url
from crawler.detect.rules import Rule
from verifiers.base import Verdict, Verifier, VerifierOptions, json_object, safe_code, unexpected

DOCS = "https://docs.slack.dev/reference/methods/auth.test"
# The auth.test errors that say the token itself is dead (DOCS, "Errors"). ``invalid_auth`` can also
# mean "IP address not allowed"; Slack documents it as a token that cannot be validated.
DEAD = frozenset({"invalid_auth", "account_inactive", "token_revoked", "token_expired"})


class SlackOptions(VerifierOptions):
    api_url: Url = "https://slack.com/api"
    """Web API root; ``/auth.test`` is appended."""


class SlackVerifier(Verifier):
    """Bot (``xoxb-``) and user (``xoxp-``) tokens."""

    kind = "slack"
    Options = SlackOptions
    options: SlackOptions
    rules: ClassVar[frozenset[str]] = frozenset({"slack-bot-token", "slack-user-token", "slack-legacy-bot-token"})

    async def check(self, token: str, rule: Rule) -> Verdict:
        url = self.options.api_url.rstrip("/") + "/auth.test"
        resp = await self.request("POST", url, headers={"Authorization": f"Bearer {token}"})
        if resp.status_code != 200:
            return unexpected("Slack", resp)
        body = json_object(resp)
        if body.get("ok") is True:
            # {"ok": true, "team_id": …, "user_id": …}: the token authenticated (DOCS above).
            return Verdict.live("Slack accepted the token (auth.test ok)")
        error = safe_code(body.get("error"), token)
        if body.get("ok") is False and error in DEAD:
            # {"ok": false, "error": "invalid_auth" | "account_inactive" | "token_revoked" |
            # "token_expired"}: https://docs.slack.dev/reference/methods/auth.test#errors
            return Verdict.inactive(f"Slack rejected the token ({error})")
        # ratelimited, internal_error, fatal_error, …: nothing is known about the token.
        return Verdict.unknown(f"Slack did not confirm the token (error {error})")
