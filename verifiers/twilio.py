"""Twilio: ``GET /2010-04-01/Accounts.json`` (read-only; lists the accounts these credentials reach).

Only a pair can be verified: the token is ``<Account SID>:<auth token>`` as the scanner reports a
paired finding. Both halves travel only in the HTTP Basic ``Authorization`` header, never the URL.
"""

from __future__ import annotations

import re
from typing import ClassVar

import httpx

from crawler.config.model import Url
from crawler.detect.rules import Rule, split_pair
from verifiers.base import Verdict, Verifier, VerifierOptions, has_key, unexpected

SID = re.compile(r"AC[0-9a-f]{32}")


class TwilioOptions(VerifierOptions):
    api_url: Url = "https://api.twilio.com"
    """API root; ``/2010-04-01/Accounts.json`` is appended."""


class TwilioVerifier(Verifier):
    """Account SID + auth token pairs (``twilio-account-sid-auth-token``)."""

    kind = "twilio"
    Options = TwilioOptions
    options: TwilioOptions
    rules: ClassVar[frozenset[str]] = frozenset({"twilio-account-sid-auth-token"})

    async def check(self, token: str, rule: Rule) -> Verdict:
        pair = split_pair(token)
        if pair is None or not SID.fullmatch(pair[0]):
            return Verdict.unknown("an Account SID alone cannot be verified (no auth token paired)")
        sid, secret = pair
        url = f"{self.options.api_url.rstrip('/')}/2010-04-01/Accounts.json"
        resp = await self.request("GET", url, auth=httpx.BasicAuth(sid, secret))
        if resp.status_code == 401:
            # 401 code 20003 "Authenticate": the SID and auth token do not authenticate.
            # https://www.twilio.com/docs/api/errors/20003
            return Verdict.inactive("Twilio rejected the SID and auth token (HTTP 401)")
        if has_key(resp, "accounts"):
            # 200 {"accounts": [...], …}: https://www.twilio.com/docs/iam/api/account#read-multiple-account-resources
            return Verdict.live("Twilio accepted the SID and auth token (HTTP 200)")
        return unexpected("Twilio", resp)
