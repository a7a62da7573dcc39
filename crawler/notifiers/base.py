"""The ``Notifier`` contract: deliver one event, say what happened; never decide about retries.

The outbox (:mod:`crawler.engine.delivery`) owns scheduling: it calls :meth:`Notifier.send` with a stable
``message_id`` (the Standard Webhooks ``webhook-id``, one per token × notifier) and acts on the
:class:`DeliveryResult`.
"""

from __future__ import annotations

import abc
import asyncio
import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal

import httpx

from crawler.config.model import Duration, NotifierConfig, PluginOptions, secret
from crawler.http import read_capped
from crawler.kernel.partner import DeploymentKey
from crawler.kernel.retry import RETRY_STATUS, parse_retry_after

Outcome = Literal["delivered", "retry", "disabled", "failed"]
ANSWER_BYTES = 4096
"""The most of an endpoint's answer that is read: its status and a short error string are all that matter."""


@dataclass(frozen=True)
class Exposure:
    """What a notifier may say about one token. ``token`` is plaintext: only webhooks send it."""

    token: str = field(repr=False)
    token_sha256: str
    redacted: str
    rule: str
    severity: str
    status: str
    verified_at: datetime | None
    first_seen_at: datetime
    source: str
    url: str
    path: str | None
    line: int | None
    sightings: int


@dataclass(frozen=True)
class Event:
    """``token.exposed`` (with ``exposure``) or ``report.weekly`` (with ``report`` and ``summary``)."""

    type: str
    timestamp: datetime
    exposure: Exposure | None = None
    report: dict[str, Any] | None = None
    summary: str | None = None


@dataclass(frozen=True)
class DeliveryResult:
    outcome: Outcome
    status_code: int | None = None
    retry_after: float | None = None
    detail: str = ""
    feedback: str | None = None
    """A label the endpoint gave the token in its answer (``true_positive`` / ``false_positive``)."""


class NotifierOptions(PluginOptions):
    """Plug-in specific keys of a ``[[notifiers]]`` table (override in each notifier)."""


class Notifier(abc.ABC):
    kind: ClassVar[str]
    Options: ClassVar[type[NotifierOptions]] = NotifierOptions
    carries_reports: ClassVar[bool] = True
    """Whether ``report.weekly`` events have a form here (``[report] notify`` may name it)."""
    signs_with_deployment_key: ClassVar[bool] = False
    """Whether it signs with the deployment's key (``run``/``crawl`` then create a missing key file)."""

    def __init__(self, config: NotifierConfig, client: httpx.AsyncClient,
                 options: PluginOptions | None = None, *, deployment_key: DeploymentKey | None = None) -> None:
        """``options`` is the table's validated ``Options`` (from :mod:`crawler.plugins`); without it the
        table's extra keys are validated here. ``deployment_key`` is where the deployment's signing key
        lives (``[storage] signing_key_*``), for channels that sign with it."""
        self.config = config
        self.deployment_key = deployment_key
        self.options = options if isinstance(options, self.Options) else self.Options.model_validate(config.extras())
        self.client = client

    @property
    def id(self) -> str:
        return self.config.id

    def missing_credentials(self) -> str | None:
        """Why this notifier cannot send (e.g. its secret variable is unset), or ``None``."""
        return None

    def target(self) -> str:
        """A fingerprint of the endpoint this notifier sends to (SHA-256 of its ``url``, or of the URL
        in ``url_env``): stored when the endpoint disables it, so that a changed URL re-enables it."""
        url = getattr(self.options, "url", None)
        env = getattr(self.options, "url_env", None)
        value = str(url or (secret(env) if env else "") or "")
        return hashlib.sha256(value.encode()).hexdigest() if value else ""

    @abc.abstractmethod
    async def send(self, message_id: str, event: Event) -> DeliveryResult:
        """Deliver once. Transport errors become ``retry`` results, never exceptions."""


async def post(client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str],
               timeout: float) -> tuple[httpx.Response, str]:
    """POST without following redirects; the answer's text is read up to ``ANSWER_BYTES`` only (an
    endpoint that answers with a flood costs no memory), and within twice ``timeout`` in total (an
    endpoint that trickles its answer holds a delivery no longer: ``httpx.ReadTimeout``, retried)."""
    try:
        async with asyncio.timeout(2 * timeout):
            answer = await read_capped(client, "POST", url, max_bytes=ANSWER_BYTES, content=body,
                                       headers=headers, timeout=timeout, follow_redirects=False)
    except TimeoutError:
        raise httpx.ReadTimeout(f"no complete answer within {2 * timeout:g}s") from None
    return answer.response, answer.content.decode(answer.response.encoding or "utf-8", "replace")


def with_answer(result: DeliveryResult, text: str, limit: int, scrub: str | None, redacted: str) -> DeliveryResult:
    """Append a short, token-free excerpt of the answer to ``detail`` (scrubbed before it is cut, so
    no part of the token survives the cut)."""
    if scrub:
        text = text.replace(scrub, redacted)
    text = text[:limit].strip()
    if not text:
        return result
    return DeliveryResult(result.outcome, result.status_code, result.retry_after, f"{result.detail}: {text}")


class DeliveryOptions(NotifierOptions):
    """Delivery settings every channel shares (the outbox reads them)."""

    timeout: Duration = 10.0
    """Per-attempt request timeout."""
    max_backoff: Duration = 600.0
    """Longest wait between two attempts, ``Retry-After`` included."""
    give_up_after: Duration = 72 * 3600.0
    """After this long without a delivery the outbox dead-letters the message."""


def classify(resp: httpx.Response, *, disabled: frozenset[int] = frozenset({410})) -> DeliveryResult:
    """Map a response to an outcome (status classes as data, like scrapy's RETRY_HTTP_CODES)."""
    code = resp.status_code
    if 200 <= code < 300:
        return DeliveryResult("delivered", code)
    if code in disabled:
        return DeliveryResult("disabled", code, detail=f"HTTP {code}: endpoint gone")
    if code in RETRY_STATUS or code >= 500:
        return DeliveryResult("retry", code, parse_retry_after(resp.headers.get("Retry-After")),
                              detail=f"HTTP {code}")
    if 300 <= code < 400:
        return DeliveryResult("failed", code, detail=f"HTTP {code}: redirect not followed")
    return DeliveryResult("failed", code, detail=f"HTTP {code}")


def transport_failure(exc: httpx.HTTPError) -> DeliveryResult:
    """Timeouts and transport errors are retried; the message names only the error type."""
    what = "timeout" if isinstance(exc, httpx.TimeoutException) else "transport error"
    return DeliveryResult("retry", detail=f"{what} ({type(exc).__name__})")
