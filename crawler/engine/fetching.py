"""The fetch queue of one source: items its listing found (:class:`sources.base.Fetch`, a public push)
are stored before its cursor passes them, then claimed — newest first, by whichever process gets
them, once across the sources that saw them — and fetched through the source's ``refetch`` into the
pipeline. The claim is the store's one work-queue mechanism (:mod:`crawler.store.workqueue`), the one
the delivery outbox uses.

A rate limit (every credential spent) gives the claimed items back, due when the wait ends, and the
queue pauses that long: it slows down instead of collecting 403s. A fetched item whose diff cannot
be had is skipped, one that fails transiently is handed to the parked documents (:mod:`.parking`).
"""

from __future__ import annotations

import functools
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from crawler.engine.delivery import owner_is_dead
from crawler.engine.parking import Parking
from crawler.kernel.errors import RateLimited, SourceError
from crawler.store.fetches import NewFetch
from crawler.store.models import FetchItem
from sources.base import Batch, Outcome, Source, guard, prefetched

if TYPE_CHECKING:
    from crawler.engine.pipeline import Engine

logger = logging.getLogger(__name__)
CLAIM_TTL = 300.0
CLAIM_BATCH = 32
DRAIN_SECONDS = 5.0
KEEP = timedelta(days=15)
"""Finished queue rows are kept this long after their push was published: the weekly report's
Coverage section reads the last full week (and ``report --since`` a little more), then they go."""
PRUNE_EVERY = timedelta(hours=1)
PAUSE_ON_ERROR = 60.0
"""Seconds the queue pauses on a failure that holds for every item and says no wait (a refused credential)."""
"""One drain returns after this long (the daemon's next tick goes on), so a big backlog never holds a job."""


@dataclass
class Drained:
    documents: int = 0
    sightings: int = 0


class FetchQueue:
    def __init__(self, engine: Engine, source: str, lane: str, bound: int, parking: Parking) -> None:
        self.engine, self.source, self.lane, self.bound, self.parking = engine, source, lane, bound, parking
        self.not_before: datetime | None = None
        self._freed = False
        self._pruned: datetime | None = None

    async def add(self, batch: Batch) -> None:
        """Store a batch's queued items (before its cursor is kept) and count the pushes seen."""
        if not batch.queued:
            return
        engine = self.engine
        items = [self._item(f.key, dict(f.ref), f.published_at) for f in batch.queued]
        done = await engine.db(engine.store.queue_fetches, items, handler=self.source, lane=self.lane,
                               now=engine.clock(), bound=self.bound)
        engine.metrics.pushes.labels(self.source).inc(len(items))
        if done.dropped:
            engine.metrics.queue_dropped.labels(self.source).inc(done.dropped)
            logger.warning("%s: fetch queue at its bound (%d): the %d oldest pushes dropped", self.source,
                           self.bound, done.dropped)

    def _item(self, key: str, ref: dict[str, Any], published_at: datetime | None) -> NewFetch:
        """A queued push as stored: a token in its key (a repository may be named like one) redacted,
        and its ref, which must keep the names to fetch the push, sealed when it holds one."""
        scrub = self.engine.scrub
        text = json.dumps(ref)
        return NewFetch(scrub(key), ref, published_at, sealed=scrub(text) != text)

    async def drain(self, source: Source, seconds: float = DRAIN_SECONDS, limit: int | None = None) -> Drained:
        """Fetch due items of this source for up to ``seconds`` (or ``limit`` items)."""
        engine = self.engine
        if self.not_before is not None and engine.clock() < self.not_before:
            return Drained()
        if not self._freed:  # a killed process's claims come back at once
            self._freed = True
            await engine.db(engine.store.release_dead_fetch_claims, owner_is_dead)
        now = engine.clock()
        if self._pruned is None or now - self._pruned >= PRUNE_EVERY:
            self._pruned = now
            await engine.db(engine.store.prune_fetches, now - KEEP)
        out, fetched, started = Drained(), 0, time.monotonic()
        while time.monotonic() - started < seconds and (limit is None or fetched < limit):
            batch = CLAIM_BATCH if limit is None else min(CLAIM_BATCH, limit - fetched)
            rows = await engine.db(engine.store.claim_fetches, [self.source], engine.owner, CLAIM_TTL,
                                   engine.clock(), batch)
            if not rows:
                break
            stop = await self._fetch(source, rows, out)
            fetched += len(rows)
            if stop:
                break
        await self.gauge()
        return out

    async def _fetch(self, source: Source, rows: list[FetchItem], out: Drained) -> bool:
        """Fetch claimed ``rows`` into the pipeline (counted in ``out``); ``True`` if the queue paused."""
        engine = self.engine
        finished: set[int] = set()

        async def one(row: FetchItem) -> Outcome:
            return await guard(source.ctx, row.key, row.ref, functools.partial(source.refetch, row.key, row.ref))

        try:
            async for row, outcome in prefetched(rows, one, source.ctx.prefetch):
                assert row.id is not None
                out.sightings += await engine.process(outcome.documents, wait=False)
                out.documents += len(outcome.documents)
                await self.parking.settle(outcome.batch({}))
                status = ("skipped" if outcome.skipped and not outcome.documents else
                          "parked" if outcome.parked and not outcome.documents else "done")
                await engine.db(engine.store.finish_fetch, row.id, status, engine.clock(),
                                "; ".join(s.detail for s in outcome.skipped)[:500])
                if status == "done":
                    engine.metrics.pushes_fetched.labels(self.source).inc()
                finished.add(row.id)
        except SourceError as exc:  # a rate limit (every credential spent) or a credential problem
            wait = exc.retry_after if isinstance(exc, RateLimited) else PAUSE_ON_ERROR
            until = engine.clock() + timedelta(seconds=wait)
            self.not_before = until
            rest = [r.id for r in rows if r.id is not None and r.id not in finished]
            await engine.db(engine.store.defer_fetches, rest, until, str(exc))
            engine.metrics.rate_limit_waits.labels(self.source).inc()
            logger.warning("%s: fetch queue paused %.0fs: %s", self.source, wait, exc)
            return True
        return False

    async def gauge(self) -> None:
        """Queue depth and the age of its oldest item, for ``/metrics``."""
        engine = self.engine
        stats = await engine.db(engine.store.fetch_queue_stats, [self.source])
        engine.metrics.queue_depth.labels(self.source).set(stats.depth)
        age = (engine.clock() - stats.oldest).total_seconds() if stats.oldest else 0.0
        engine.metrics.queue_age.labels(self.source).set(max(0.0, age))
