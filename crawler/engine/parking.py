"""Per-document outcomes of a poll: skipped documents are counted and logged, parked ones are stored
and fetched again with back-off until they succeed, are skipped, or pass the source's give-up age
(``document_give_up_after``), when they are recorded as skipped (``reason="gave_up"``).

The cursor moves past a skipped or parked document: a parked one is in the store before the cursor
that passes it is written (this runs before the batch's cursor is kept), so nothing is lost.
"""

from __future__ import annotations

import functools
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from crawler.kernel.backoff import Backoff
from sources.base import Batch, Park, Skip, Source, guard

if TYPE_CHECKING:
    from crawler.engine.pipeline import Engine

logger = logging.getLogger(__name__)
RETRY = Backoff(5.0, 900.0)
"""A parked document is tried again after 5 s, doubling, at most every 15 min."""
MAX_SERVER_WAIT = 3600.0
"""A service's own "try again in …" is honoured up to an hour."""
DUE_PER_POLL = 50
"""Parked documents tried again per poll (the rest wait for the next one)."""


class Parking:
    """The skipped and parked documents of one source."""

    def __init__(self, engine: Engine, source: str, give_up_after: float) -> None:
        self.engine, self.source, self.give_up_after = engine, source, give_up_after

    async def settle(self, batch: Batch) -> None:
        """Count and log a batch's skipped documents; store its parked ones."""
        for skip in batch.skipped:
            self.skip(skip)
        for park in batch.parked:
            await self.park(park, attempts=0)

    def skip(self, skip: Skip) -> None:
        self.engine.metrics.documents_skipped.labels(self.source, skip.reason).inc()
        logger.info("%s: document %s skipped (%s): %s", self.source, skip.key, skip.reason, skip.detail)

    def stored_key(self, key: str) -> str:
        """A document key as the store keeps it: a token in it (a gist's file name is part of its
        key) redacted. The ref, which must keep it to fetch the document again, is stored sealed."""
        return self.engine.scrub(key)

    async def park(self, park: Park, attempts: int) -> None:
        now = self.engine.clock()
        wait = min(park.retry_after, MAX_SERVER_WAIT) if park.retry_after is not None else None
        retry_at = now + timedelta(seconds=RETRY.delay(attempts + 1, retry_after=wait))
        await self.engine.db(self.engine.store.park, self.source, self.stored_key(park.key), park.ref,
                             reason=park.reason,
                             detail=self.engine.scrub.cut(park.detail, 500), now=now, retry_at=retry_at)
        self.engine.metrics.documents_parked.labels(self.source, park.reason).inc()
        logger.info("%s: document %s parked (%s), next attempt in %.0fs: %s", self.source, park.key, park.reason,
                    (retry_at - now).total_seconds(), park.detail)

    async def retry_due(self, source: Source) -> int:
        """Fetch the parked documents whose time has come through the pipeline; return sightings added."""
        engine = self.engine
        sightings = 0
        for row in await engine.db(engine.store.due_parked, self.source, engine.clock(), DUE_PER_POLL):
            # under guard too: a stored ref the source can no longer read is skipped, never a wedged poll
            outcome = await guard(source.ctx, row.key, row.ref, functools.partial(source.refetch, row.key, row.ref))
            sightings += await engine.process(outcome.documents, wait=False)
            for skip in outcome.skipped:
                self.skip(skip)
            again = None
            for park in outcome.parked:
                if self.stored_key(park.key) == row.key:
                    again = park
                else:
                    await self.park(park, attempts=0)
            assert row.first_failed_at is not None
            age = (engine.clock() - row.first_failed_at).total_seconds()
            if again is None:
                await engine.db(engine.store.unpark, self.source, row.key)
            elif age >= self.give_up_after:
                detail = engine.scrub.cut(f"still failing after {age:.0f}s and {row.attempts + 1} attempts: "
                                          f"{again.detail}", 500)
                await engine.db(engine.store.give_up, self.source, row.key, engine.clock(), detail)
                self.skip(Skip(row.key, "gave_up", detail))
            else:
                await self.park(again, attempts=row.attempts)
        return sightings
