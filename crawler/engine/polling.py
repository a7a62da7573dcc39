"""Polling one source through the pipeline, under a lease, with stored back-off.

The cursor is stored only after every document of a batch has been processed. Errors affect the
source alone: rate limits wait what the server asked (``Retry-After``, ``X-RateLimit-Reset``, clamped
to ``[http] max_server_wait``), other failures back off exponentially; the wait is stored so a restart
never polls earlier than allowed. *Any* exception of a poll (a source bug, ``MemoryError``, a store
error) is a recorded failure with back-off; its traceback is logged once per streak of the same
error, then only counted.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
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
from crawler.kernel.errors import BudgetSpent, ForbiddenURL, MalformedPage, RateLimited, SourceDisabled, SourceError
from crawler.kernel.retry import RetryPolicy, clamp_wait
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
        self._streak: tuple[str, int] | None = None
        """The last unexpected error's signature (type and frames) and how often it came in a row."""
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
                                fetch_deadline=self.engine.cfg.http.fetch_deadline,
                                max_crawl_delay=self.engine.cfg.http.max_crawl_delay,
                                max_server_wait=self.engine.cfg.http.max_server_wait,
                                max_poll_bytes=self.engine.cfg.http.max_poll_bytes,
                                max_poll_pages=self.engine.cfg.http.max_poll_pages,
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
            source.ctx.new_poll()
            parking = self.parking
            out.sightings += await parking.retry_due(source)
            saved_at = time.monotonic()
            batches = source.poll(dict(state.cursor))
            async for batch in batches:
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
                if out.documents >= self.engine.cfg.http.max_poll_documents:  # a full poll: the rest next time
                    logger.info("source %s: %d documents in this poll (max_poll_documents); the rest comes next poll",
                                self.name, out.documents)
                    await batches.aclose()  # type: ignore[attr-defined]
                    break
            outcome = self._succeeded(source, now)
            out.ok = True
        except BudgetSpent as exc:  # a full poll, not a failed one: the progress is kept, the rest comes next
            logger.info("%s", exc)
            outcome = self._succeeded(await self._instance(), now)
            out.ok = True
        except SourceError as exc:
            out.error = str(exc)
            outcome = self._failed(exc, now, state)
        except Exception as exc:  # a source bug, an odd page, MemoryError, a store error: still a failure
            self._unexpected(exc)
            err = SourceError(self.name, f"unexpected {type(exc).__name__} while polling: {exc}")
            out.error = str(err)
            outcome = self._failed(err, now, state)
        finally:
            if unsaved is not None:  # every batch up to this cursor was processed: keep the progress
                outcome["cursor"] = unsaved
            stored = await self._finish(outcome)
        if outcome:
            nxt = outcome.get("next_poll_at")
            self._not_before = max(now + timedelta(seconds=self.interval) - timedelta(milliseconds=50),
                                   nxt or now)
        if not stored:  # nothing could be written: wait the error back-off before the next try
            out.ok = False
            self._not_before = now + timedelta(seconds=max(self.interval, MIN_ERROR_BACKOFF))
        return out

    async def _finish(self, outcome: dict[str, Any]) -> bool:
        """Store the poll's outcome and release the lease; a store that cannot be written is logged
        (the poll's progress is simply not saved: its documents come again) and reported by health."""
        try:
            await self.engine.db(self.engine.store.finish_poll, self.name, self.engine.owner, **outcome)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._unexpected(exc, "storing the poll's outcome")
            self.engine.store_failed(exc)
            return False
        self.engine.store_ok()
        return True

    def _unexpected(self, exc: BaseException, doing: str = "polling") -> None:
        """The traceback once per streak of the same error; after that, one line with the count."""
        frames = traceback.extract_tb(exc.__traceback__)
        signature = type(exc).__name__ + "|" + "|".join(f"{f.filename}:{f.lineno}" for f in frames)
        if self._streak is not None and self._streak[0] == signature:
            self._streak = (signature, self._streak[1] + 1)
            logger.warning("source %s: the same %s while %s (%d times in a row; traceback logged once)",
                           self.name, type(exc).__name__, doing, self._streak[1])
            return
        self._streak = (signature, 1)
        logger.error("source %s: unexpected %s while %s", self.name, type(exc).__name__, doing, exc_info=exc)

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
        if nxt is not None:  # the server's "poll again after" (X-Poll-Interval), bounded
            wait = clamp_wait((nxt - now).total_seconds(), self.engine.cfg.http.max_server_wait,
                              self.name, "the server's poll interval")
            nxt = now + timedelta(seconds=wait)
        if self._streak is not None:
            logger.info("source %s: polling again after %d failed polls in a row", self.name, self._streak[1])
            self._streak = None
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
            wait = clamp_wait(exc.retry_after, self.engine.cfg.http.max_server_wait, self.name, "a rate limit")
            kind = "rate_limit"
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
        return {"last_poll_at": started, "last_error_at": now, "last_error": self.engine.scrub.cut(str(exc), 500),
                "failing_since": since, "next_poll_at": now + timedelta(seconds=wait)}
