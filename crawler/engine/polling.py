"""Polling one source through the pipeline, under a lease, with stored back-off.

The cursor is stored only after every document of a batch has been processed. Errors affect the
source alone: rate limits wait what the server asked (``Retry-After``, ``X-RateLimit-Reset``), other
failures back off exponentially; the wait is stored so a restart never polls earlier than allowed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from crawler.config.model import SourceSpec
from crawler.engine.delivery import owner_is_dead
from crawler.engine.fetching import DRAIN_SECONDS, Drained, FetchQueue
from crawler.engine.parking import Parking
from crawler.engine.pipeline import Engine
from crawler.http import allowed_hosts_for, bulk_transport, make_client
from crawler.kernel.backoff import Backoff
from crawler.kernel.errors import ForbiddenURL, MalformedPage, RateLimited, SourceDisabled, SourceError
from crawler.kernel.retry import RetryPolicy
from crawler.plugins import source_of
from crawler.store.models import SourceState
from sources.base import Batch, Source, SourceContext

logger = logging.getLogger(__name__)
MIN_ERROR_BACKOFF = 5.0
MAX_ERROR_BACKOFF = 1800.0
DISABLED_FIRST, DISABLED_CAP = 60.0, 3600.0
"""A configuration-looking answer (Pastebin's "not whitelisted"): asked again after 60 s, doubling up to
an hour, so that a fixed whitelist counts in a minute, not an hour. With only the first failure's time
stored, "doubling" is: the next wait is the time failing so far plus the first wait (60, 120, 240, …)."""
CURSOR_SAVE_EVERY = 0.5
"""Seconds between cursor writes within one poll (and always at its end): a kill re-processes at
most this much, which de-duplicates, instead of paying one database write per batch."""


@dataclass
class PollOutcome:
    source: str
    ok: bool
    documents: int = 0
    sightings: int = 0
    error: str = ""
    skipped: bool = False


class SourceRunner:
    """One enabled source of one process: its client, instance and poll loop."""

    def __init__(self, engine: Engine, spec: SourceSpec, stack: AsyncExitStack,
                 policy: RetryPolicy | None = None) -> None:
        self.engine, self.spec, self.stack = engine, spec, stack
        self.cls, self.options = source_of(spec)
        self.policy = policy or RetryPolicy()
        self.source: Source | None = None
        self.problem = self.cls.missing_credentials(self.options)
        self._not_before: datetime | None = None
        """Before this moment this process's own last poll says the source is not due."""
        self.parking = Parking(engine, self.name, self.options.document_give_up_after)
        bound = int(getattr(self.options, "max_queued", 100_000))
        self.queue = FetchQueue(engine, self.name, self.cls.lane, bound, self.parking) if self.cls.lane else None
        """The store's fetch queue for this source's per-item fetches (sources with a ``lane``)."""

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def interval(self) -> float:
        return float(self.options.interval)

    async def _instance(self) -> Source:
        if self.source is None:
            opts = self.options
            hosts = allowed_hosts_for(opts.api_url, self.cls.hosts(opts))
            client = await self.stack.enter_async_context(make_client(
                self.engine.cfg.http, allowed_hosts=hosts, owner=self.name, follow_redirects=True,
                transport=bulk_transport(self.engine.cfg.http)))
            ctx = SourceContext(name=self.name, client=client, policy=self.policy,
                                prefixes=sorted({r.prefix for r in self.engine.rules if not r.builtin}
                                                or {r.prefix for r in self.engine.rules}),
                                max_document_bytes=self.engine.cfg.scanner.max_document_bytes,
                                max_page_bytes=self.engine.cfg.http.max_decompressed_bytes, now=self.engine.clock,
                                queue=self.queue is not None, shared=self.engine.shared)
            self.source = self.cls(opts, ctx)
        return self.source

    def _due_by(self, state: SourceState, now: datetime, interval: bool) -> bool:
        if state.next_poll_at is not None and state.next_poll_at > now:
            return False
        return not (interval and state.last_poll_at is not None
                    and state.last_poll_at + timedelta(seconds=self.interval) > now + timedelta(milliseconds=50))

    async def due(self, now: datetime, *, interval: bool = True) -> bool:
        """Allowed by the server's and the error back-off (``next_poll_at``) and, for the daemon, by
        the configured interval since the last poll. Until the moment this process's own last poll
        allows, no database read is needed (the scheduler asks several times a second); after it,
        the stored state decides, since another process may have polled."""
        if interval and self._not_before is not None and now < self._not_before:
            return False
        state = await self.engine.db(self.engine.store.source_state, self.name)
        return self._due_by(state, now, interval)

    async def poll(self, on_batch: Callable[[Batch], Awaitable[None]] | None = None, *,
                   interval: bool = True, drain: float = DRAIN_SECONDS) -> PollOutcome:
        """:meth:`listing`, then up to ``drain`` seconds fetching the source's queued items (the daemon
        passes 0: its fetch-queue job does that, so a backlog never delays the next listing)."""
        out = await self.listing(on_batch, interval=interval)
        if drain > 0 and self.queue is not None and not out.skipped:
            drained = await self.drain(drain)
            out.documents, out.sightings = out.documents + drained.documents, out.sightings + drained.sightings
        return out

    async def listing(self, on_batch: Callable[[Batch], Awaitable[None]] | None = None, *,
                      interval: bool = True) -> PollOutcome:
        """One poll: every batch through the pipeline, then the cursor; errors become back-off.
        ``interval`` as in :meth:`due`, which is checked again under the lease: another process may
        have polled between this one's check and its lease. The lease comes with the source's state
        and the outcome is stored with its release: two store calls around the fetches."""
        store, db, now = self.engine.store, self.engine.db, self.engine.clock()
        out = PollOutcome(self.name, ok=False)
        lease = max(self.interval * 3, 120.0)
        state = await db(store.take_lease, self.name, self.engine.owner, lease, now)
        state = state or await self._take_over(lease, now)
        if state is None:
            out.skipped, out.ok = True, True
            return out
        if not self._due_by(state, now, interval):
            await db(store.release_lease, self.name, self.engine.owner)
            out.skipped, out.ok = True, True
            return out
        unsaved: dict[str, Any] | None = None
        outcome: dict[str, Any] = {}
        try:
            source = await self._instance()
            parking = self.parking
            out.sightings += await parking.retry_due(source)
            saved_at = time.monotonic()
            async for batch in source.poll(dict(state.cursor)):
                await parking.settle(batch)  # parked documents are stored before the cursor passes them
                if self.queue is not None:  # so are queued fetches
                    await self.queue.add(batch)
                out.sightings += await self.engine.process(batch.documents, wait=False)
                out.documents += len(batch.documents)
                unsaved = dict(batch.cursor)
                if time.monotonic() - saved_at >= CURSOR_SAVE_EVERY:  # one write per batch cost ~40% CPU
                    await db(store.update_source, self.name, cursor=unsaved)
                    unsaved, saved_at = None, time.monotonic()
                if on_batch is not None:
                    await on_batch(batch)
            outcome = self._succeeded(source, now)
            out.ok = True
        except SourceError as exc:
            out.error = str(exc)
            outcome = self._failed(exc, now, state)
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeError) as exc:  # a source bug or odd page
            err = SourceError(self.name, f"unexpected {type(exc).__name__} while polling")
            out.error = str(err)
            outcome = self._failed(err, now, state)
        finally:
            if unsaved is not None:  # every batch up to this cursor was processed: keep the progress
                outcome["cursor"] = unsaved
            await db(store.finish_poll, self.name, self.engine.owner, **outcome)
        if outcome:
            nxt = outcome.get("next_poll_at")
            self._not_before = max(now + timedelta(seconds=self.interval) - timedelta(milliseconds=50),
                                   nxt or now)
        return out

    async def drain(self, seconds: float | None = None, limit: int | None = None) -> Drained:
        """Fetch this source's due queued items (see :mod:`crawler.engine.fetching`). Errors that hold
        for every item pause the queue and are not raised."""
        if self.queue is None:
            return Drained()
        source = await self._instance()
        if seconds is None:
            return await self.queue.drain(source, limit=limit)
        return await self.queue.drain(source, seconds, limit)

    async def _take_over(self, lease: float, now: datetime) -> SourceState | None:
        """Take the lease of a killed process of this host instead of waiting for it to expire."""
        store, db = self.engine.store, self.engine.db
        owner = (await db(store.source_state, self.name)).lease_owner
        if not owner or not owner_is_dead(owner):
            return None
        logger.info("source %s: taking over the lease of %s (process gone)", self.name, owner)
        await db(store.release_lease, self.name, owner)
        return await db(store.take_lease, self.name, self.engine.owner, lease, now)

    def _succeeded(self, source: Source, started: datetime) -> dict[str, Any]:
        now = self.engine.clock()
        nxt = source.not_before if source.not_before is not None and source.not_before > now else None
        m = self.engine.metrics
        m.polls.labels(self.name, "ok").inc()
        m.backoff.labels(self.name).set(0)
        m.last_success.labels(self.name).set(now.timestamp())
        return {"last_poll_at": started, "last_success_at": now, "next_poll_at": nxt, "failing_since": None,
                "last_error": ""}

    def _failed(self, exc: SourceError, started: datetime, state: SourceState) -> dict[str, Any]:
        m, now = self.engine.metrics, self.engine.clock()
        since = state.failing_since or now
        if isinstance(exc, RateLimited):
            wait, kind = exc.retry_after, "rate_limit"
            m.rate_limit_waits.labels(self.name).inc()
        elif isinstance(exc, SourceDisabled):
            wait, kind = min(DISABLED_CAP, DISABLED_FIRST + (now - since).total_seconds()), "disabled"
        else:
            failing = (now - since).total_seconds()
            wait = Backoff(max(self.interval, MIN_ERROR_BACKOFF), MAX_ERROR_BACKOFF).after(failing)
            kind = {MalformedPage: "malformed", ForbiddenURL: "forbidden_url"}.get(type(exc), "unavailable")
        m.source_errors.labels(self.name, kind).inc()
        m.polls.labels(self.name, "error").inc()
        m.backoff.labels(self.name).set(wait)
        log = logger.error if isinstance(exc, SourceDisabled) else logger.warning
        log("%s; next poll in %.0fs", exc, wait)
        return {"last_poll_at": started, "last_error_at": now, "last_error": str(exc)[:500],
                "failing_since": since, "next_poll_at": now + timedelta(seconds=wait)}
