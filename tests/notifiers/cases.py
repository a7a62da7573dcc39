"""One adapter per registered notifier kind: its endpoint, its config and how it legitimately differs.

``tests/notifiers/test_contract.py`` runs the delivery contract (DESIGN.md "Revocation webhook")
over every kind in ``crawler.notifiers.NOTIFIERS``; a new notifier gets it by adding a ``Case`` here.
The secrets are obviously fake.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from crawler.config.model import NotifierConfig
from crawler.kernel.partner import generate_pem
from crawler.notifiers import NOTIFIERS
from crawler.notifiers.base import Notifier

WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"leakpatrol-contract-test-secret!").decode()
SIGNING_KEY = generate_pem()  # made by the project for the tests: obviously not a secret of anyone's
PARTNER_URL = "https://partner.acme.example/github/secret-scanning"
CHAT_HOOK = "https://hooks.slack.com/services/T00000000/B00000000/FAKEFAKEFAKEFAKEFAKEFAKE"


@dataclass(frozen=True)
class Case:
    kind: str
    url: str
    """The endpoint the notifier POSTs to (respx mocks exactly this URL)."""
    extras: Mapping[str, Any]
    """The plug-in keys of its ``[[notifiers]]`` table."""
    credential_env: str
    """The variable whose absence ``missing_credentials()`` names (and which stops every request)."""
    credential: str
    """A valid value for ``credential_env``; the tests set it unless they test its absence."""
    bad_credential: str
    """A value of the wrong form, which ``missing_credentials()`` must reject without echoing it."""
    carries_token: bool
    """Whether the request body holds the plaintext token by default (only the revocation webhook)."""
    token_free: Mapping[str, Any] | None = None
    """For a carrier: the extra keys that make it leave the token out (``send_token = false``)."""
    disabled: frozenset[int] = frozenset({410})
    """Statuses that mean "the endpoint is gone" (410 always; a channel may document more)."""
    notifier_id: str | None = None
    carries_reports: bool = True
    """Whether the channel has a form for ``report.weekly`` (a partner alert has none)."""
    token_required: bool = False
    """The format always carries the raw token (GitHub's partner alerts have no hash-only form),
    so a carrier needs no switch to leave it out."""

    def config(self, **overrides: Any) -> NotifierConfig:
        return NotifierConfig(id=self.notifier_id or self.kind, kind=self.kind, **{**self.extras, **overrides})

    def build(self, client: httpx.AsyncClient, **overrides: Any) -> Notifier:
        return NOTIFIERS[self.kind](self.config(**overrides), client)


CASES: dict[str, Case] = {c.kind: c for c in (
    Case(
        kind="webhook", url="https://hooks.acme.example/leakpatrol", notifier_id="acme-revoke",
        extras={"url": "https://hooks.acme.example/leakpatrol", "secret_env": "ACME_WEBHOOK_SECRET",
                "on": ["live"]},
        credential_env="ACME_WEBHOOK_SECRET", credential=WEBHOOK_SECRET, bad_credential="whsec_%%not-base64%%",
        carries_token=True, token_free={"send_token": False},
    ),
    Case(
        # Slack incoming webhooks: 404 no_service / channel_not_found means the webhook was removed
        # (api.slack.com changelog 2016-05-17 "Improving error conditions for Incoming Webhooks").
        kind="chat", url=CHAT_HOOK, notifier_id="security-chat",
        extras={"url_env": "SECURITY_CHAT_WEBHOOK", "on": ["live", "unknown"]},
        credential_env="SECURITY_CHAT_WEBHOOK", credential=CHAT_HOOK,
        bad_credential="http://hooks.slack.com/services/T00000000/B00000000/PLAINHTTPPLAINHTTP",
        carries_token=False, disabled=frozenset({404, 410}),
    ),
    Case(
        # GitHub's partner format (docs.github.com "Secret scanning partner program"): the raw token
        # in every alert, signed with the deployment key ([storage] signing_key_env first).
        kind="github_partner", url=PARTNER_URL, notifier_id="acme-partner",
        extras={"url": PARTNER_URL, "on": ["live"]},
        credential_env="LEAKPATROL_SIGNING_KEY", credential=SIGNING_KEY,
        bad_credential="-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----",
        carries_token=True, carries_reports=False, token_required=True,
    ),
)}


@dataclass
class Flood(httpx.AsyncByteStream):
    """A large response body served in chunks, counting how much of it the client actually read."""

    size: int
    chunk: bytes = field(default=b"x" * 65536)
    read: int = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.read < self.size:
            self.read += len(self.chunk)
            yield self.chunk

    async def aclose(self) -> None:
        return None
