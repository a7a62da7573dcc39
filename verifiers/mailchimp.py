"""Mailchimp Marketing API: ``GET /3.0/ping`` (read-only health check that needs a valid key).

The data centre is the key's suffix (``…-us6`` → ``us6.api.mailchimp.com``); only its digits come
from the token, so the request never leaves Mailchimp's own hosts.
"""

from __future__ import annotations

import re
from typing import ClassVar
from urllib.parse import urlsplit, urlunsplit

import httpx

from crawler.config.model import Url
from crawler.detect.rules import Rule
from verifiers.base import Verdict, Verifier, VerifierOptions, has_key, unexpected

DC = re.compile(r"[0-9a-f]{32}-us([0-9]{1,2})")


class MailchimpOptions(VerifierOptions):
    api_url: Url = "https://api.mailchimp.com"
    """API root; for Mailchimp's own host the key's data centre goes in front (``us6.api.mailchimp.com``),
    and ``/3.0/ping`` is appended."""


class MailchimpVerifier(Verifier):
    """Marketing API keys (``<32 hex>-us<dc>``)."""

    kind = "mailchimp"
    Options = MailchimpOptions
    options: MailchimpOptions
    rules: ClassVar[frozenset[str]] = frozenset({"mailchimp-api-key"})

    async def check(self, token: str, rule: Rule) -> Verdict:
        m = DC.fullmatch(token)
        if m is None:
            return Verdict.unknown("not a Mailchimp key shape")
        root = urlsplit(self.options.api_url.rstrip("/"))
        if root.hostname == "api.mailchimp.com":
            root = root._replace(netloc=f"us{m.group(1)}.{root.netloc}")
        url = urlunsplit(root) + "/3.0/ping"
        resp = await self.request("GET", url, auth=httpx.BasicAuth("leakpatrol", token))
        if resp.status_code == 401:
            # 401 "API Key Invalid": https://mailchimp.com/developer/marketing/docs/errors/
            return Verdict.inactive("Mailchimp rejected the key (HTTP 401)")
        if has_key(resp, "health_status"):
            # 200 {"health_status": "Everything's Chimpy!"}: https://mailchimp.com/developer/marketing/api/ping/
            return Verdict.live("Mailchimp accepted the key (HTTP 200)")
        return unexpected("Mailchimp", resp)
