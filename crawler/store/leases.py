"""Source state and leases: the part of :class:`crawler.store.database.Store` that keeps each source's
cursor and back-off across restarts and lets one process at a time poll a source."""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from crawler.kernel.clock import utcnow
from crawler.store.models import SourceState


class LeaseQueries:
    """Mixed into ``Store``, which supplies ``session()``."""

    if TYPE_CHECKING:
        def session(self) -> AbstractContextManager[Session]: ...

    def source_state(self, name: str) -> SourceState:
        with self.session() as s:
            return s.get(SourceState, name) or SourceState(name=name)

    def all_source_states(self) -> list[SourceState]:
        with self.session() as s:
            return list(s.exec(select(SourceState)).all())

    def update_source(self, name: str, **values: Any) -> None:
        with self.session() as s:
            row = s.get(SourceState, name) or SourceState(name=name)
            for k, v in values.items():
                setattr(row, k, v)
            if "cursor" in values:  # JSON column: make sure a mutated dict is seen as changed
                row.cursor = json.loads(json.dumps(values["cursor"]))
            s.add(row)
            s.commit()

    def take_lease(self, name: str, owner: str, ttl: float, now: datetime | None = None) -> SourceState | None:
        """One poller per source across processes sharing this database: take (or renew) the lease for
        ``ttl`` seconds and get the source's state with it (one round trip when the row exists), or
        ``None`` when another process holds it."""
        now = now or utcnow()
        take = (update(SourceState).where(
            col(SourceState.name) == name,
            or_(col(SourceState.lease_owner).is_(None), col(SourceState.lease_until) < now,
                col(SourceState.lease_owner) == owner),
        ).values(lease_owner=owner, lease_until=now + timedelta(seconds=ttl)).returning(SourceState))
        with self.session() as s:
            row = s.execute(take).scalars().first()
            if row is None and s.get(SourceState, name) is None:  # first poll ever: create the row
                s.add(SourceState(name=name))
                try:
                    s.commit()
                except IntegrityError:
                    s.rollback()
                row = s.execute(take).scalars().first()
            s.commit()
            return row

    def finish_poll(self, name: str, owner: str, **values: Any) -> None:
        """Store a poll's outcome (``values``: cursor, times, back-off) and release the lease, in one
        transaction."""
        with self.session() as s:
            if "cursor" in values:
                values["cursor"] = json.loads(json.dumps(values["cursor"]))
            if values:
                s.execute(update(SourceState).where(col(SourceState.name) == name).values(**values))
            s.execute(update(SourceState).where(col(SourceState.name) == name, col(SourceState.lease_owner) == owner)
                      .values(lease_owner=None, lease_until=None))
            s.commit()

    def release_lease(self, name: str, owner: str) -> None:
        with self.session() as s:
            s.execute(update(SourceState).where(col(SourceState.name) == name, col(SourceState.lease_owner) == owner)
                      .values(lease_owner=None, lease_until=None))
            s.commit()
