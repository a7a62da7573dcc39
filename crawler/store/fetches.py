"""The fetch queue: the part of :class:`crawler.store.database.Store` that keeps the items sources
found but have not fetched yet (public pushes: one row per repository id + head), so that each is
fetched once, newest first, by whichever process claims it, and survives restarts.

Claims are the store's one work-queue mechanism (:mod:`crawler.store.workqueue`), the same as the
delivery outbox's. A second source seeing a queued (or fetched) item only records that it saw it:
coverage counts it, nobody fetches it again. Past ``bound`` pending items of one handler, the oldest
pending ones are dropped (status ``dropped``, counted in the coverage report) so the queue stays bounded.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from crawler.store.crypto import Cipher
from crawler.store.models import FetchItem
from crawler.store.sealing import seal, unseal
from crawler.store.workqueue import WorkTable

FETCHES = WorkTable(FetchItem)


def _aad(handler: str, key: str) -> bytes:
    return f"fetch\0{handler}\0{key}".encode()


LANES = ("realtime", "backfill")
CHUNK = 500


@dataclass(frozen=True)
class NewFetch:
    """One item a source wants fetched: its queue ``key``, the ``ref`` to fetch it with, its time."""

    key: str
    ref: dict[str, Any]
    published_at: datetime | None = None
    sealed: bool = False
    """Store the ref sealed (:mod:`crawler.store.sealing`): it holds something token-like."""


@dataclass(frozen=True)
class Queued:
    """What :meth:`FetchQueries.queue_fetches` did: items new to the queue, items already known,
    pending items dropped to keep the bound."""

    new: int = 0
    known: int = 0
    dropped: int = 0


@dataclass(frozen=True)
class QueueStats:
    depth: int
    oldest: datetime | None


class FetchQueries:
    """Mixed into ``Store``, which supplies ``session()`` and ``is_sqlite``."""

    if TYPE_CHECKING:
        is_sqlite: bool
        cipher: Cipher | None

        def session(self) -> AbstractContextManager[Session]: ...

    def queue_fetches(self, items: Sequence[NewFetch], *, handler: str, lane: str, now: datetime,
                      bound: int | None = None) -> Queued:
        """Queue ``items`` for ``handler`` (the items nobody queued before) and record that ``lane`` saw
        each of them, in one transaction."""
        if lane not in LANES:
            raise ValueError(f"lane {lane!r} is not one of {LANES}")
        seen = f"seen_{lane}_at"
        new = known = dropped = 0
        insert = sqlite.insert if self.is_sqlite else postgresql.insert
        unique = {i.key: i for i in items}
        with self.session() as s:
            keys = list(unique)
            for start in range(0, len(keys), CHUNK):
                chunk = [unique[k] for k in keys[start:start + CHUNK]]
                rows = [{"key": i.key, "handler": handler, "lane": lane, "ref": self._stored_ref(handler, i),
                         "status": "pending", "attempts": 0, "last_error": "", "published_at": i.published_at,
                         "queued_at": now, "next_attempt_at": now, seen: now} for i in chunk]
                stmt = insert(FetchItem).values(rows).on_conflict_do_nothing(index_elements=["key"])
                added = set(s.execute(stmt.returning(col(FetchItem.key))).scalars().all())
                new += len(added)
                others = [i.key for i in chunk if i.key not in added]
                known += len(others)
                if others:
                    s.execute(update(FetchItem).where(col(FetchItem.key).in_(others),
                                                      getattr(FetchItem, seen).is_(None)).values({seen: now}))
            if bound is not None and new:
                dropped = self._keep_bound(s, handler, bound, now)
            s.commit()
        return Queued(new, known, dropped)

    def _stored_ref(self, handler: str, item: NewFetch) -> dict[str, Any]:
        if item.sealed:
            return seal(self.cipher, _aad(handler, item.key), item.ref)
        plain: dict[str, Any] = json.loads(json.dumps(item.ref))
        return plain

    def _keep_bound(self, s: Session, handler: str, bound: int, now: datetime) -> int:
        pending = (col(FetchItem.handler) == handler, col(FetchItem.status) == "pending")
        depth = s.exec(select(func.count()).select_from(FetchItem).where(*pending)).one()
        if depth <= bound:
            return 0
        oldest = (select(col(FetchItem.id)).where(*pending, FETCHES.unclaimed(now))
                  .order_by(col(FetchItem.published_at).asc(), col(FetchItem.id).asc()).limit(depth - bound))
        res = s.execute(update(FetchItem).where(col(FetchItem.id).in_(oldest.scalar_subquery()))
                        .values(FETCHES.finish_values(status="dropped", last_error="queue bound reached"))
                        .execution_options(synchronize_session=False))
        return int(res.rowcount)  # type: ignore[attr-defined]

    def claim_fetches(self, handlers: Sequence[str], owner: str, ttl: float, now: datetime,
                      limit: int = 50) -> list[FetchItem]:
        """Claim up to ``limit`` due items of ``handlers``, newest first (returned in that order)."""
        order = (col(FetchItem.published_at).desc(), col(FetchItem.id).desc())
        with self.session() as s:
            rows: list[FetchItem] = FETCHES.claim_next(s, owner, ttl, now, limit, order,
                                                       col(FetchItem.handler).in_(list(handlers)))
            s.commit()
        for row in rows:
            row.ref = unseal(self.cipher, _aad(row.handler, row.key), row.ref, f"queued item {row.key!r}")
        far = datetime.max.replace(tzinfo=now.tzinfo) - timedelta(days=1)
        return sorted(rows, key=lambda r: (r.published_at or far, r.id or 0), reverse=True)

    def finish_fetch(self, item_id: int, status: str, now: datetime, error: str = "") -> None:
        """Record one claimed item's end: ``done`` (fetched) or ``skipped`` (cannot be had)."""
        values = FETCHES.finish_values(status=status, fetched_at=now, last_error=error[:500],
                                       next_attempt_at=None, attempts=col(FetchItem.attempts) + 1)
        with self.session() as s:
            s.execute(update(FetchItem).where(col(FetchItem.id) == item_id).values(values))
            s.commit()

    def defer_fetches(self, item_ids: Sequence[int], until: datetime, error: str = "") -> None:
        """Give claimed items back, due again at ``until`` (a rate limit, a shutdown)."""
        if not item_ids:
            return
        values = FETCHES.finish_values(next_attempt_at=until, last_error=error[:500])
        with self.session() as s:
            s.execute(update(FetchItem).where(col(FetchItem.id).in_(list(item_ids)),
                                              col(FetchItem.status) == "pending").values(values))
            s.commit()

    def release_dead_fetch_claims(self, is_dead: Any) -> int:
        with self.session() as s:
            freed = FETCHES.release_dead(s, is_dead)
            s.commit()
            return freed

    def fetch_queue_stats(self, handlers: Sequence[str] | None = None) -> QueueStats:
        """Pending items (of ``handlers``) and the publication time of the oldest of them."""
        where = [col(FetchItem.status) == "pending"]
        if handlers is not None:
            where.append(col(FetchItem.handler).in_(list(handlers)))
        with self.session() as s:
            depth, oldest = s.exec(select(func.count(), func.min(FetchItem.published_at)).where(*where)).one()
        if isinstance(oldest, datetime) and oldest.tzinfo is None:  # MIN() may come back without the column type
            oldest = oldest.replace(tzinfo=UTC)
        return QueueStats(int(depth), oldest)

    def prune_fetches(self, before: datetime) -> int:
        """Forget finished items published before ``before`` (the coverage report reads the last weeks
        only); pending ones stay whatever their age."""
        with self.session() as s:
            res = s.execute(delete(FetchItem).where(col(FetchItem.status) != "pending",
                                                    col(FetchItem.published_at) < before))
            s.commit()
            return int(res.rowcount)  # type: ignore[attr-defined]

    def fetch_items(self, start: datetime | None = None, end: datetime | None = None) -> list[FetchItem]:
        """Queue rows published in ``[start, end)`` (all of them without bounds), oldest first."""
        query = select(FetchItem).order_by(col(FetchItem.published_at), col(FetchItem.id))
        if start is not None:
            query = query.where(col(FetchItem.published_at) >= start)
        if end is not None:
            query = query.where(col(FetchItem.published_at) < end)
        with self.session() as s:
            return list(s.exec(query).all())
