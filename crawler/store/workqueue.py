"""The one durable work-queue mechanism of the store: rows that are due, claimed for a while by one
process, then finished. The delivery outbox (:mod:`crawler.store.deliveries`) and the fetch queue
(:mod:`crawler.store.fetches`) are both tables of this shape, claimed through here.

A work row has ``status`` (``"pending"`` while there is work), ``next_attempt_at`` (due from then),
``claimed_by`` (``host:pid``) and ``claimed_until`` (the claim expires, so a dead claimer's work
comes back). :func:`claim_next` takes up to ``limit`` due rows in one statement: on PostgreSQL the
candidate rows are selected ``FOR UPDATE SKIP LOCKED``, so two daemons claiming at the same moment
take disjoint rows without waiting on each other; SQLite serialises writers, so its single
``UPDATE … WHERE id IN (SELECT …)`` is atomic as it stands (SQLAlchemy leaves ``FOR UPDATE`` out there).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Update, and_, or_, select, update
from sqlmodel import Session, SQLModel


class WorkTable:
    """The work columns of one table (a SQLModel with the attributes named in this module's docstring)."""

    def __init__(self, model: type[SQLModel]) -> None:
        self.model = model
        self.id: Any = model.id  # type: ignore[attr-defined]
        self.status: Any = model.status  # type: ignore[attr-defined]
        self.next_attempt_at: Any = model.next_attempt_at  # type: ignore[attr-defined]
        self.claimed_by: Any = model.claimed_by  # type: ignore[attr-defined]
        self.claimed_until: Any = model.claimed_until  # type: ignore[attr-defined]

    def unclaimed(self, now: datetime) -> ColumnElement[bool]:
        return or_(self.claimed_until.is_(None), self.claimed_until < now)

    def due(self, now: datetime) -> ColumnElement[bool]:
        """Pending, its next attempt reached, and not claimed (or the claim expired)."""
        return and_(self.status == "pending", self.next_attempt_at <= now, self.unclaimed(now))

    def claim_values(self, owner: str, ttl: float, now: datetime) -> dict[str, Any]:
        return {"claimed_by": owner, "claimed_until": now + timedelta(seconds=ttl)}

    def claim_one(self, row_id: int, owner: str, ttl: float, now: datetime) -> Update:
        """Take one pending row (due or not: the caller chose it), unless it is held, even by ``owner``
        itself: in one process the delivery job may have listed a row just before the hot path after
        a verdict claimed it, and taking it again would send it twice."""
        return (update(self.model)
                .where(self.id == row_id, self.status == "pending", self.unclaimed(now))
                .values(**self.claim_values(owner, ttl, now)).returning(self.model))

    def claim_where(self, owner: str, ttl: float, now: datetime, *where: ColumnElement[bool]) -> Update:
        """Take every due row matching ``where`` (one owner's rows of one token, say)."""
        return (update(self.model).where(self.due(now), *where)
                .values(**self.claim_values(owner, ttl, now)).returning(self.model))

    def claim_next(self, s: Session, owner: str, ttl: float, now: datetime, limit: int,
                   order_by: Sequence[Any], *where: ColumnElement[bool]) -> list[Any]:
        """Claim up to ``limit`` due rows in ``order_by`` order (see the module docstring); the caller
        commits. Rows come back in no particular order."""
        pick = (select(self.id).where(self.due(now), *where).order_by(*order_by).limit(limit)
                .with_for_update(skip_locked=True))
        take = (update(self.model).where(self.id.in_(pick.scalar_subquery()), self.due(now))
                .values(**self.claim_values(owner, ttl, now)).returning(self.model)
                .execution_options(synchronize_session=False))
        return list(s.execute(take).scalars().all())

    def release_dead(self, s: Session, is_dead: Callable[[str], bool]) -> int:
        """Free the claims of pending rows whose owner ``is_dead`` (a killed process), so they are
        due again at once rather than when the claim expires; the caller commits."""
        owners = s.execute(select(self.claimed_by).distinct().where(
            self.status == "pending", self.claimed_by.is_not(None))).scalars().all()
        dead = [o for o in owners if o and is_dead(o)]
        if not dead:
            return 0
        res = s.execute(update(self.model).where(self.status == "pending", self.claimed_by.in_(dead))
                        .values(claimed_by=None, claimed_until=None))
        return int(res.rowcount)  # type: ignore[attr-defined]

    def finish_values(self, **values: Any) -> dict[str, Any]:
        """``values`` plus the claim's release."""
        return {**values, "claimed_by": None, "claimed_until": None}
