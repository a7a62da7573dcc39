"""The delivery outbox: rows are committed before the first attempt, claimed before sending, and
retried with back-off until delivered, dead-lettered (``give_up_after``), failed or disabled (410).

The ``webhook-id`` is derived from the notifier and the token fingerprint, so it is stable across
retries, restarts and processes: the issuer's receiver de-duplicates on it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from crawler.engine.metrics import Metrics
from crawler.kernel.backoff import Backoff
from crawler.notifiers.base import DeliveryResult, Event, Exposure, Notifier
from crawler.store.database import Store
from crawler.store.models import Delivery, Sighting, Token
from crawler.store.offload import Offload

logger = logging.getLogger(__name__)
CLAIM_TTL = 120.0
FIRST_DELIVERY_RETRY = 2.0
"""Seconds before the first retry of a failed delivery; doubles (with jitter) up to ``max_backoff``."""


def webhook_id(notifier: str, key: str) -> str:
    """Stable idempotency key for one token (or report) × notifier."""
    return "msg_" + hashlib.sha256(f"{notifier}\0{key}".encode()).hexdigest()[:32]


def owner_is_dead(owner: str) -> bool:
    """True when ``owner`` (``host:pid``, see ``crawler.engine.pipeline.default_owner``) is a process of this
    host that no longer exists, e.g. one killed with SIGKILL: its leases and claims are free at once."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by someone else
        return False
    return False


def _opt(notifier: Notifier, name: str, default: float) -> float:
    value: float = float(getattr(notifier.options, name, default))
    return value


class Outbox:
    def __init__(self, store: Store, db: Offload, notifiers: dict[str, Notifier], metrics: Metrics, owner: str,
                 clock: Callable[[], datetime], scrub: Callable[[str], str] = str) -> None:
        self.store, self.db, self.notifiers, self.metrics = store, db, notifiers, metrics
        self.owner, self.clock = owner, clock
        self.scrub = scrub
        self.sleeping: dict[str, Notifier] = {}
        """Notifiers disabled by their endpoint (410), kept so that re-enabling them needs no restart."""
        """Redacts tokens in an endpoint's error detail *before* it is cut and stored."""

    def exposure(self, tok: Token, first: Sighting | None) -> Exposure:
        assert tok.id is not None and tok.first_seen_at is not None
        return Exposure(
            token=self.store.reveal(tok), token_sha256=tok.fingerprint, redacted=tok.redacted, rule=tok.rule,
            severity=tok.severity, status=tok.status, verified_at=tok.verified_at, first_seen_at=tok.first_seen_at,
            source=first.source if first else "", url=first.url if first else "",
            path=(first.path or None) if first else None, line=first.line if first else None,
            sightings=tok.sightings,
        )

    async def release_dead_claims(self) -> int:
        """Free the claims of killed processes of this host, so their deliveries resume now rather
        than after ``CLAIM_TTL`` (the retry keeps its ``webhook-id``)."""
        return await self.db(self.store.release_dead_claims, owner_is_dead)

    async def deliver_due(self, token_id: int | None = None, limit: int = 200) -> int:
        """Attempt every due delivery (or those of one token); return how many were delivered."""
        if token_id is not None:
            return await self._deliver_token(token_id)
        delivered = 0
        # A row enqueued just before a crash waits until its token's verdict is recorded (``deliverable``).
        for row in await self.db(self.store.deliverable, self.clock(), limit):
            if await self.attempt(row):
                delivered += 1
        return delivered

    async def _deliver_token(self, token_id: int) -> int:
        """The hot path right after a verdict: one store call claims the token's rows and reads its
        event's data, one per row records the attempt."""
        rows, tok, first = await self.db(self.store.claim_token_rows, token_id, sorted(self.notifiers), self.owner,
                                         CLAIM_TTL, self.clock())
        if tok is None:
            return 0
        delivered = 0
        for row in rows:
            notifier = self.notifiers.get(row.notifier)
            if notifier is None:  # disabled (410) meanwhile: the claim expires, the row stays visible
                continue
            delivered += await self._send(row, notifier, *self._token_event(row, tok, first))
        return delivered

    async def attempt(self, row: Delivery) -> bool:
        assert row.id is not None
        notifier = self.notifiers.get(row.notifier)
        if notifier is None:
            return False  # notifier no longer configured: the row waits, visible in reports
        claimed = await self.db(self.store.claim, row.id, self.owner, CLAIM_TTL, self.clock())
        if claimed is None:
            return False
        if claimed.token_id is None:
            payload: dict[str, Any] = claimed.payload or {}
            report = Event(type=claimed.event_type, timestamp=self.clock(), report=payload.get("report"),
                           summary=payload.get("summary"))
            return await self._send(claimed, notifier, report, None, "")
        tok, first = await self.db(self.store.token_and_first_sighting, claimed.token_id)
        if tok is None:
            await self.db(self.store.finish_attempt, row.id, status="failed", error="token row missing",
                          now=self.clock())
            return False
        return await self._send(claimed, notifier, *self._token_event(claimed, tok, first))

    def _token_event(self, row: Delivery, tok: Token, first: Sighting | None) -> tuple[Event, datetime | None, str]:
        """The ``token.exposed`` event of ``row``, the moment its latency counts from, and its source."""
        exp = self.exposure(tok, first)
        event = Event(type=row.event_type, timestamp=self.clock(), exposure=exp)
        return event, tok.first_published_at or tok.first_seen_at, exp.source

    async def _send(self, row: Delivery, notifier: Notifier, event: Event, since: datetime | None,
                    source: str) -> bool:
        """One attempt of a claimed row, recorded."""
        result = await notifier.send(row.webhook_id, event)
        self.metrics.deliveries.labels(notifier.id, result.outcome).inc()
        return await self._finish(row, notifier, result, since, source)

    async def _feedback(self, token_id: int, notifier: str, label: str, now: datetime) -> None:
        """Store the issuer's label for the token and bring its rule's precision gauge up to date."""
        await self.db(self.store.record_feedback, token_id, notifier, label, now)
        tok, _ = await self.db(self.store.token_and_first_sighting, token_id)
        if tok is None:
            return
        self.metrics.feedback.labels(tok.rule, label).inc()
        self.metrics.set_precision(await self.db(self.store.feedback_counts, tok.rule))
        logger.info("%s labelled %s %s", notifier, tok.redacted, label)

    async def _finish(self, row: Delivery, notifier: Notifier, result: DeliveryResult, since: datetime | None,
                      source: str) -> bool:
        assert row.id is not None and row.created_at is not None
        now = self.clock()
        detail = self.scrub(result.detail)[:300]
        if result.outcome == "delivered":
            await self.db(self.store.finish_attempt, row.id, status="delivered", http_status=result.status_code,
                          now=now)
            if result.feedback and row.token_id is not None:
                await self._feedback(row.token_id, notifier.id, result.feedback, now)
            if since is not None:
                self.metrics.leak_to_notify.labels(source).observe(max(0.0, (now - since).total_seconds()))
            logger.info("delivered %s to %s (%s)", row.webhook_id, notifier.id, row.event_type)
            return True
        if result.outcome == "retry":
            give_up = _opt(notifier, "give_up_after", 72 * 3600.0)
            if (now - row.created_at).total_seconds() >= give_up:
                await self.db(self.store.finish_attempt, row.id, status="dead", error=detail,
                              http_status=result.status_code, now=now)
                logger.error("dead-lettered %s for %s after %d attempts: %s", row.webhook_id, notifier.id,
                             row.attempts + 1, detail)
                return False
            backoff = Backoff(FIRST_DELIVERY_RETRY, _opt(notifier, "max_backoff", 600.0), jitter=0.5)
            delay = backoff.delay(row.attempts + 1, retry_after=result.retry_after)
            await self.db(self.store.finish_attempt, row.id, status="pending", error=detail,
                          http_status=result.status_code, next_attempt_at=now + timedelta(seconds=delay), now=now)
            logger.warning("delivery %s to %s failed (%s); retry in %.1fs", row.webhook_id, notifier.id, detail, delay)
            return False
        if result.outcome == "disabled":
            await self.db(self.store.disable_notifier, notifier.id, detail or f"HTTP {result.status_code}", now,
                          notifier.target())
            await self.db(self.store.finish_attempt, row.id, status="disabled", error=detail,
                          http_status=result.status_code, now=now)
            logger.error("NOTIFIER %s DISABLED: the endpoint answered %s (gone); fix the endpoint, then "
                         "`leakpatrol notifiers enable %s` (or change its URL in the config and restart)",
                         notifier.id, result.status_code, notifier.id)
            self.notifiers.pop(notifier.id, None)
            self.sleeping[notifier.id] = notifier
            return False
        await self.db(self.store.finish_attempt, row.id, status="failed", error=detail,
                      http_status=result.status_code, now=now)
        logger.error("delivery %s to %s failed permanently: %s", row.webhook_id, notifier.id, detail)
        return False
