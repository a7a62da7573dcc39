"""SendGrid: ``GET /v3/scopes`` (read-only; the scopes of the key that calls it)."""

from __future__ import annotations

from typing import ClassVar

from crawler.config.model import Url
from crawler.detect.rules import Rule
from verifiers.base import Verdict, Verifier, VerifierOptions, has_key, unexpected


class SendGridOptions(VerifierOptions):
    api_url: Url = "https://api.sendgrid.com"
    """API root (EU subusers: ``https://api.eu.sendgrid.com``); ``/v3/scopes`` is appended."""


class SendGridVerifier(Verifier):
    """SendGrid API keys (``SG.``)."""

    kind = "sendgrid"
    Options = SendGridOptions
    options: SendGridOptions
    rules: ClassVar[frozenset[str]] = frozenset({"sendgrid-api-key"})

    async def check(self, token: str, rule: Rule) -> Verdict:
        url = self.options.api_url.rstrip("/") + "/v3/scopes"
        resp = await self.request("GET", url, headers={"Authorization": f"Bearer {token}"})
        if resp.status_code == 401:
            # 401 {"errors": [{"message": "authorization required"}]}: a deleted or unknown key.
            # https://www.twilio.com/docs/sendgrid/api-reference/how-to-use-the-sendgrid-v3-api/responses
            return Verdict.inactive("SendGrid rejected the key (HTTP 401)")
        if has_key(resp, "scopes"):
            # 200 {"scopes": [...]}: https://www.twilio.com/docs/sendgrid/api-reference/
            # api-key-permissions/retrieve-a-list-of-scopes-for-which-this-user-has-access
            return Verdict.live("SendGrid accepted the key (HTTP 200)")
        return unexpected("SendGrid", resp)
