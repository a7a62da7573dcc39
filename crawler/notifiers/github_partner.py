"""``github_partner``: leakpatrol's findings in GitHub's secret-scanning partner format.

An issuer already onboarded with GitHub's partner program has an endpoint that takes GitHub's alerts;
this notifier sends it leakpatrol's findings the same way, so the issuer only adds leakpatrol's key
URL (the daemon's ``/meta/public_keys/secret_scanning``) next to GitHub's. The body is a JSON array
of one alert ``[{"token", "type", "url", "source"}]`` (``type`` is the rule id, or ``types[rule]``;
``source`` is leakpatrol's source name), signed with the deployment's ECDSA P-256 key
(:class:`crawler.kernel.partner.SigningKeys`): headers ``Github-Public-Key-Identifier`` and
``Github-Public-Key-Signature``. GitHub's format always carries the raw token (there is no hash-only
alert), and it has no form for the weekly report.

Outcomes are the webhook notifier's (:func:`crawler.notifiers.base.classify`); a 2xx answer may
carry feedback (``true_positive`` / ``false_positive`` by ``token_raw`` or ``token_hash``), returned
as :attr:`DeliveryResult.feedback` for the outbox to store.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import httpx
from pydantic import Field

from crawler.config.model import StorageConfig, Url
from crawler.kernel.errors import SigningKeyError
from crawler.kernel.partner import KIND, DeploymentKey, SigningKeys, feedback_label
from crawler.notifiers.base import (
    DeliveryOptions,
    DeliveryResult,
    Event,
    Notifier,
    NotifierOptions,
    classify,
    post,
    transport_failure,
    with_answer,
)

DETAIL_CHARS = 200
_DEFAULT = StorageConfig()


class GitHubPartnerOptions(DeliveryOptions):
    url: Url
    """The issuer's partner endpoint (the one GitHub already posts its alerts to)."""
    types: dict[str, str] = Field(default_factory=dict)
    """Rule id → the ``type`` the issuer's endpoint knows (default: the rule id)."""


class GitHubPartnerNotifier(Notifier):
    """Signed partner alerts, one token per POST (the outbox's unit: exactly once per token)."""

    kind: ClassVar[str] = KIND
    Options: ClassVar[type[NotifierOptions]] = GitHubPartnerOptions
    carries_reports: ClassVar[bool] = False
    signs_with_deployment_key: ClassVar[bool] = True
    options: GitHubPartnerOptions

    @property
    def key(self) -> DeploymentKey:
        """``[storage] signing_key_env`` / ``signing_key_file`` (their defaults when built without a config)."""
        return self.deployment_key or DeploymentKey(_DEFAULT.signing_key_env, Path(_DEFAULT.signing_key_file))

    def _keys(self) -> SigningKeys | str:
        try:
            return self.key.load()
        except SigningKeyError as exc:
            return str(exc)

    def missing_credentials(self) -> str | None:
        keys = self._keys()
        return keys if isinstance(keys, str) else None

    async def send(self, message_id: str, event: Event) -> DeliveryResult:
        exp = event.exposure
        if exp is None:
            return DeliveryResult("failed", detail=f"{event.type}: the GitHub partner format carries token alerts "
                                                   "only; leave this notifier out of [report] notify")
        keys = self._keys()
        if isinstance(keys, str):
            return DeliveryResult("failed", detail=keys)
        token_type = self.options.types.get(exp.rule, exp.rule)
        alert = {"token": exp.token, "type": token_type, "url": exp.url, "source": exp.source}
        body = json.dumps([alert], separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        headers = {"content-type": "application/json", **keys.sign(body)}
        try:
            resp, text = await post(self.client, self.options.url, body, headers, self.options.timeout)
        except httpx.HTTPError as exc:
            return transport_failure(exc)
        result = classify(resp)
        if result.outcome == "delivered":
            label = feedback_label(text, exp.token, token_type)
            return DeliveryResult("delivered", result.status_code, feedback=label,
                                  detail=f"feedback: {label}" if label else "")
        return with_answer(result, text, DETAIL_CHARS, exp.token, exp.redacted)
