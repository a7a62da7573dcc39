"""Stripe: ``GET /v1/balance`` (read-only; retrieves the account balance)."""

from __future__ import annotations

from typing import ClassVar

from crawler.config.model import Url
from crawler.detect.rules import Rule
from verifiers.base import Verdict, Verifier, VerifierOptions, has_key, unexpected

ERRORS = "https://docs.stripe.com/api/errors"


class StripeOptions(VerifierOptions):
    api_url: Url = "https://api.stripe.com"
    """API root; ``/v1/balance`` is appended."""


class StripeVerifier(Verifier):
    """Live secret keys (``sk_live_``) and restricted keys (``rk_live_``)."""

    kind = "stripe"
    Options = StripeOptions
    options: StripeOptions
    rules: ClassVar[frozenset[str]] = frozenset({"stripe-live-secret-key", "stripe-restricted-key"})

    async def check(self, token: str, rule: Rule) -> Verdict:
        url = self.options.api_url.rstrip("/") + "/v1/balance"
        resp = await self.request("GET", url, headers={"Authorization": f"Bearer {token}"})
        if resp.status_code == 401:
            # 401 Unauthorized: "No valid API key provided" (revoked, expired or unknown key).
            # https://docs.stripe.com/api/errors
            return Verdict.inactive("Stripe rejected the key (HTTP 401)")
        if resp.status_code == 403:
            # 403 Forbidden: "The API key doesn't have permissions to perform the request" - the key
            # authenticated, it is a restricted key without balance read access (ERRORS above).
            return Verdict.live("Stripe accepted the key (HTTP 403: no permission to read the balance)")
        if has_key(resp, "available"):
            # 200 {"object": "balance", "available": [...], …}:
            # https://docs.stripe.com/api/balance/balance_retrieve
            return Verdict.live("Stripe accepted the key (HTTP 200)")
        return unexpected("Stripe", resp)
