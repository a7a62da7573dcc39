"""The delivery outbox and notifier state: the part of :class:`crawler.store.database.Store` that
commits a row before the first attempt, claims it before sending and records each attempt. The claim
is the store's one work-queue mechanism (:mod:`crawler.store.workqueue`), shared with the fetch queue."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from crawler.kernel.clock import utcnow
from crawler.kernel.status import Status
from crawler.store.models import Delivery, NotifierState, Sighting, Token
from crawler.store.tokens import first_sighting_query
from crawler.store.workqueue import WorkTable

OUTBOX = WorkTable(Delivery)


def _due(now: datetime) -> ColumnElement[bool]:
    return OUTBOX.due(now)


class DeliveryQueries:
    """Mixed into ``Store``, which supplies ``session()``."""

    if TYPE_CHECKING:
        def session(self) -> AbstractContextManager[Session]: ...

    def enqueue(self, *, webhook_id: str, notifier: str, token_id: int | None, event_type: str,
                payload: dict[str, Any] | None = None, now: datetime | None = None) -> bool:
        """Commit an outbox row before any attempt; ``False`` if it already existed."""
        now = now or utcnow()
        with self.session() as s:
            s.add(Delivery(webhook_id=webhook_id, notifier=notifier, token_id=token_id, event_type=event_type,
                           payload=payload, created_at=now, next_attempt_at=now))
            try:
                s.commit()
                return True
            except IntegrityError:
                s.rollback()
                return False

    def claim(self, delivery_id: int, owner: str, ttl: float, now: datetime | None = None) -> Delivery | None:
        """Take one pending row for ``ttl`` seconds; ``None`` if someone else holds it."""
        take = OUTBOX.claim_one(delivery_id, owner, ttl, now or utcnow())
        with self.session() as s:
            row: Delivery | None = s.execute(take).scalars().first()
            s.commit()
            return row

    def release_dead_claims(self, is_dead: Callable[[str], bool]) -> int:
        """Free the claims of pending rows whose owner ``is_dead`` (a killed process), so they are due
        again at once rather than when the claim expires; return how many rows were freed."""
        with self.session() as s:
            freed = OUTBOX.release_dead(s, is_dead)
            s.commit()
            return freed

    def due_deliveries(self, now: datetime, limit: int = 100, token_id: int | None = None) -> list[Delivery]:
        with self.session() as s:
            q = select(Delivery).where(_due(now))
            if token_id is not None:
                q = q.where(col(Delivery.token_id) == token_id)
            return list(s.exec(q.order_by(col(Delivery.next_attempt_at)).limit(limit)).all())

    def claim_token_rows(self, token_id: int, notifiers: Sequence[str], owner: str, ttl: float,
                         now: datetime) -> tuple[list[Delivery], Token | None, Sighting | None]:
        """Right after a verdict: claim the token's deliverable rows for ``notifiers`` and read what
        their event needs (the token, its first sighting), in one transaction."""
        take = OUTBOX.claim_where(owner, ttl, now, col(Delivery.token_id) == token_id,
                                  col(Delivery.notifier).in_(list(notifiers)))
        with self.session() as s:
            tok = s.get(Token, token_id)
            if tok is None or tok.status == Status.PENDING:
                return [], tok, None
            rows = list(s.execute(take).scalars().all())
            first = s.exec(first_sighting_query(token_id)).first() if rows else None
            s.commit()
            return sorted(rows, key=lambda r: r.id or 0), tok, first

    def deliverable(self, now: datetime, limit: int = 100, token_id: int | None = None) -> list[Delivery]:
        """Due rows whose token has its verdict (a row enqueued just before a crash waits while its
        token is still ``pending``); report rows have no token and are always deliverable."""
        with self.session() as s:
            q = (select(Delivery).outerjoin(Token, col(Token.id) == col(Delivery.token_id))
                 .where(_due(now), or_(col(Delivery.token_id).is_(None), col(Token.status) != Status.PENDING)))
            if token_id is not None:
                q = q.where(col(Delivery.token_id) == token_id)
            return list(s.exec(q.order_by(col(Delivery.next_attempt_at)).limit(limit)).all())

    def count_due_deliveries(self, now: datetime) -> int:
        """How many rows :meth:`due_deliveries` would offer at ``now`` (``COUNT(*)``, no rows loaded)."""
        with self.session() as s:
            return s.exec(select(func.count()).select_from(Delivery).where(_due(now))).one()

    def count_pending_deliveries(self) -> int:
        """Rows not yet delivered, dead-lettered, failed or disabled, due or not (``COUNT(*)``)."""
        with self.session() as s:
            return s.exec(select(func.count()).select_from(Delivery).where(col(Delivery.status) == "pending")).one()

    def finish_attempt(self, delivery_id: int, *, status: str, error: str = "", http_status: int | None = None,
                       next_attempt_at: datetime | None = None, now: datetime | None = None) -> None:
        now = now or utcnow()
        with self.session() as s:
            row = s.get(Delivery, delivery_id)
            if row is None:
                return
            row.attempts += 1
            row.status, row.last_error, row.last_status = status, error[:500], http_status
            row.last_attempt_at, row.next_attempt_at = now, next_attempt_at
            for k, v in OUTBOX.finish_values().items():
                setattr(row, k, v)
            if status == "delivered":
                row.delivered_at = now
            s.add(row)
            s.commit()

    def disable_notifier(self, notifier: str, reason: str, now: datetime | None = None, target: str = "") -> None:
        with self.session() as s:
            row = s.get(NotifierState, notifier) or NotifierState(notifier=notifier)
            row.disabled_at, row.reason, row.target = now or utcnow(), reason, target
            s.add(row)
            s.commit()

    def disabled_notifiers(self) -> set[str]:
        return set(self.notifier_states())

    def notifier_states(self) -> dict[str, NotifierState]:
        """The disabled notifiers, by id."""
        with self.session() as s:
            rows = s.exec(select(NotifierState).where(col(NotifierState.disabled_at).is_not(None)))
            return {r.notifier: r for r in rows}

    def enable_notifier(self, notifier: str, now: datetime | None = None) -> int | None:
        """Re-enable a disabled notifier and put the deliveries its endpoint turned away back in the
        queue, due now, in one transaction. ``None`` when it was not disabled; else how many resumed."""
        now = now or utcnow()
        with self.session() as s:
            row = s.get(NotifierState, notifier)
            if row is None or row.disabled_at is None:
                return None
            s.delete(row)
            resumed = s.exec(update(Delivery).where(col(Delivery.notifier) == notifier,
                                                    col(Delivery.status) == "disabled")
                             .values(status="pending", next_attempt_at=now))
            s.commit()
            return int(resumed.rowcount or 0)

    def count_pending_by_notifier(self) -> dict[str, int]:
        with self.session() as s:
            rows = s.exec(select(Delivery.notifier, func.count()).where(col(Delivery.status) == "pending")
                          .group_by(Delivery.notifier))
            return {n: int(c) for n, c in rows}

    def deliveries(self, token_ids: Sequence[int] | None = None) -> list[Delivery]:
        with self.session() as s:
            q = select(Delivery)
            if token_ids is not None:
                q = q.where(col(Delivery.token_id).in_(list(token_ids)))
            return list(s.exec(q).all())
