"""``chat``: a Slack-compatible incoming-webhook message. Never the token: the redacted form only.

The webhook URL is itself a credential, so it normally comes from ``url_env`` and is never put in
a log line or a delivery detail. Slack answers incoming webhooks with plain-text error strings and
these statuses (api.slack.com changelog 2016-05-17 "Improving error conditions for Incoming
Webhooks"): 400 ``invalid_payload``, 403 ``action_prohibited``, 404 ``channel_not_found`` /
``no_service`` (webhook removed), 410 ``channel_is_archived``, 500 ``rollup_error``.
404 and 410 therefore disable the notifier; 429/5xx retry; anything else fails.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, Self

import httpx
from pydantic import model_validator

from crawler.config.model import Url, check_url, secret
from crawler.notifiers.base import (
    DeliveryOptions,
    DeliveryResult,
    Event,
    Exposure,
    Notifier,
    NotifierOptions,
    classify,
    post,
    transport_failure,
    with_answer,
)

DISABLED = frozenset({404, 410})
DETAIL_CHARS = 100


class ChatOptions(DeliveryOptions):
    url_env: str | None = None
    """Environment variable holding the incoming-webhook URL (preferred: the URL is a secret)."""
    url: Url | None = None
    """The incoming-webhook URL written in the config (only when it is not a secret)."""

    @model_validator(mode="after")
    def _one_url(self) -> Self:
        if (self.url_env is None) == (self.url is None):
            raise ValueError("set exactly one of url_env (recommended) or url")
        return self


def _escape(text: str) -> str:
    """Slack mrkdwn control characters (``&``, ``<``, ``>``) as entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _where(exp: Exposure) -> str:
    line = f"line {exp.line}" if exp.line is not None else ""
    if exp.path:
        return f"{exp.path}:{exp.line}" if exp.line is not None else exp.path
    return line or exp.url


def _exposure_message(exp: Exposure) -> dict[str, Any]:
    link = f"<{_escape(exp.url)}|{_escape(_where(exp))}>"
    fields = [("Rule", exp.rule), ("Severity", exp.severity), ("Status", exp.status),
              ("Token", f"`{exp.redacted}`"), ("Source", exp.source), ("Sightings", str(exp.sightings))]
    text = (f"Exposed {exp.severity} token ({exp.rule}), {exp.status}: {exp.redacted} "
            f"in {exp.source}: {exp.url}")
    cells = [{"type": "mrkdwn", "text": f"*{k}*\n{_escape(v)}"} for k, v in fields]
    return {
        "text": text,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": f"Token exposed: {exp.rule}"[:150]}},
            {"type": "section", "fields": cells},
            {"type": "section", "text": {"type": "mrkdwn", "text": f"Seen at {link}"}},
        ],
    }


def message(event: Event) -> dict[str, Any]:
    """The Slack message for ``event``; the plaintext token is scrubbed even if a field held it."""
    if event.type == "report.weekly" or event.exposure is None:
        summary = event.summary or "Weekly exposure report"
        return {"text": summary, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": summary}}]}
    msg = _exposure_message(event.exposure)
    raw = json.dumps(msg, ensure_ascii=False)
    if event.exposure.token in raw:
        msg = json.loads(raw.replace(event.exposure.token, event.exposure.redacted))
    return msg


class ChatNotifier(Notifier):
    """Posts a redacted alert (or the weekly summary) to a Slack-compatible incoming webhook."""

    kind: ClassVar[str] = "chat"
    Options: ClassVar[type[NotifierOptions]] = ChatOptions
    options: ChatOptions

    def _url(self) -> str | None:
        url = self.options.url or secret(self.options.url_env)
        if url is None:
            return None
        try:
            return check_url(url)
        except ValueError:
            return None

    def missing_credentials(self) -> str | None:
        if self.options.url is None and secret(self.options.url_env) is None:
            return f"environment variable {self.options.url_env} (the chat webhook URL) is not set"
        if self._url() is None:  # do not echo the value: the URL is a credential
            return f"environment variable {self.options.url_env} does not hold an https:// URL"
        return None

    async def send(self, message_id: str, event: Event) -> DeliveryResult:
        url = self._url()
        if url is None:
            return DeliveryResult("failed", detail=self.missing_credentials() or "no webhook URL")
        body = json.dumps(message(event), ensure_ascii=False).encode("utf-8")
        try:
            resp, text = await post(self.client, url, body, {"content-type": "application/json"},
                                    self.options.timeout)
        except httpx.HTTPError as exc:
            return transport_failure(exc)
        result = classify(resp, disabled=DISABLED)
        if result.outcome == "delivered":
            return result
        exp = event.exposure  # Slack's short error string, e.g. channel_is_archived; never the token
        return with_answer(result, text, DETAIL_CHARS, exp.token if exp else None, exp.redacted if exp else "")
