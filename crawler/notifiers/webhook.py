"""``webhook``: the signed revocation webhook (Standard Webhooks 1.0), see DESIGN.md.

The body is exactly DESIGN.md's ``token.exposed`` payload (``data.token`` left out when
``send_token = false``) or ``report.weekly`` with the report as ``data``. It is signed with the
``standardwebhooks`` package: ``webhook-id`` is the outbox's stable message id (the receiver's
idempotency key), ``webhook-timestamp`` is this attempt's time. Redirects are never followed.

Outcomes: 2xx delivered; 410 disabled; 408/429/5xx, timeouts and transport errors retry (with the
server's ``Retry-After``); 3xx and any other 4xx failed. The delivery job schedules retries with
the one back-off (:mod:`crawler.kernel.backoff`) until ``give_up_after``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx
from standardwebhooks.webhooks import EmptyWebhookSecretError, Webhook

from crawler.config.model import NotifierConfig, PluginOptions, Url, secret
from crawler.kernel.clock import iso
from crawler.kernel.partner import DeploymentKey
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


class WebhookOptions(DeliveryOptions):
    url: Url
    secret_env: str
    """Environment variable holding the ``whsec_<base64>`` signing secret."""
    send_token: bool = True
    """``false`` leaves ``data.token`` out (issuers that look tokens up by ``token_sha256``)."""




def payload(event: Event, *, send_token: bool = True) -> dict[str, Any]:
    """The JSON body for ``event``, exactly as DESIGN.md "Revocation webhook" shows it."""
    if event.type == "report.weekly":
        return {"type": event.type, "timestamp": iso(event.timestamp), "data": event.report or {}}
    exp = event.exposure
    if exp is None:
        raise ValueError(f"event {event.type!r} carries no exposure")
    location: dict[str, Any] = {"line": exp.line}
    if exp.path is not None:
        location = {"path": exp.path, "line": exp.line}
    data: dict[str, Any] = {"token": exp.token} if send_token else {}
    data.update(
        token_sha256=exp.token_sha256, rule=exp.rule, status=exp.status,
        verified_at=iso(exp.verified_at), first_seen_at=iso(exp.first_seen_at),
        source=exp.source, url=exp.url, location=location, sightings=exp.sightings,
    )
    return {"type": event.type, "timestamp": iso(event.timestamp), "data": data}


class WebhookNotifier(Notifier):
    """Signed ``token.exposed`` / ``report.weekly`` POSTs to the issuer's endpoint."""

    kind: ClassVar[str] = "webhook"
    Options: ClassVar[type[NotifierOptions]] = WebhookOptions
    options: WebhookOptions

    def __init__(self, config: NotifierConfig, client: httpx.AsyncClient, options: PluginOptions | None = None,
                 *, clock: Callable[[], float] = time.time, deployment_key: DeploymentKey | None = None) -> None:
        super().__init__(config, client, options, deployment_key=deployment_key)
        self.clock = clock

    def _signer(self) -> Webhook | None:
        value = secret(self.options.secret_env)
        if value is None:
            return None
        try:
            return Webhook(value)
        except (ValueError, EmptyWebhookSecretError):  # binascii.Error is a ValueError
            return None

    def missing_credentials(self) -> str | None:
        name = self.options.secret_env
        if secret(name) is None:
            return f"environment variable {name} (the webhook signing secret) is not set"
        if self._signer() is None:
            return f"environment variable {name} is not a whsec_<base64> signing secret"
        return None

    def sign(self, message_id: str, body: str, now: float) -> dict[str, str]:
        """Standard Webhooks headers for one attempt."""
        signer = self._signer()
        if signer is None:
            raise ValueError(self.missing_credentials() or "no signing secret")
        stamp = int(now)
        signature = signer.sign(message_id, datetime.fromtimestamp(stamp, UTC), body)
        return {"webhook-id": message_id, "webhook-timestamp": str(stamp),
                "webhook-signature": signature, "content-type": "application/json"}

    async def send(self, message_id: str, event: Event) -> DeliveryResult:
        try:
            body = json.dumps(payload(event, send_token=self.options.send_token),
                              separators=(",", ":"), ensure_ascii=False)
            headers = self.sign(message_id, body, self.clock())
        except ValueError as exc:
            return DeliveryResult("failed", detail=str(exc))
        try:
            resp, text = await post(self.client, self.options.url, body.encode("utf-8"), headers, self.options.timeout)
        except httpx.HTTPError as exc:
            return transport_failure(exc)
        exp = event.exposure
        return with_answer(classify(resp), text, DETAIL_CHARS, exp.token if exp else None, exp.redacted if exp else "")
