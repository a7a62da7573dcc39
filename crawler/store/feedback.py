"""The issuer's feedback per token (``github_partner`` answers): the part of
:class:`crawler.store.database.Store` that stores a label and counts them per rule."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from crawler.store.models import Feedback, Token


class FeedbackQueries:
    """Mixed into ``Store``, which supplies ``session()``."""

    if TYPE_CHECKING:
        def session(self) -> AbstractContextManager[Session]: ...

    def record_feedback(self, token_id: int, notifier: str, label: str, now: datetime) -> None:
        """Store ``label`` for the token (replacing an earlier one). A token that does not exist is an
        ``IntegrityError`` (the foreign key); a concurrent first label for the same token is retried
        once as an update."""
        for attempt in range(2):
            with self.session() as s:
                row = s.exec(select(Feedback).where(col(Feedback.token_id) == token_id)).first()
                row = row or Feedback(token_id=token_id, notifier=notifier, label=label, at=now)
                row.notifier, row.label, row.at = notifier, label, now
                s.add(row)
                try:
                    s.commit()
                    return
                except IntegrityError:
                    s.rollback()
                    if attempt:
                        raise

    def feedback(self, token_ids: Sequence[int] | None = None) -> list[Feedback]:
        with self.session() as s:
            q = select(Feedback)
            if token_ids is not None:
                q = q.where(col(Feedback.token_id).in_(list(token_ids)))
            return list(s.exec(q).all())

    def feedback_counts(self, rule: str | None = None) -> dict[str, dict[str, int]]:
        """Rule → label → how many tokens carry it (``COUNT(*)`` per rule and label)."""
        with self.session() as s:
            q = (select(Token.rule, Feedback.label, func.count()).join(Token, col(Token.id) == col(Feedback.token_id))
                 .group_by(col(Token.rule), col(Feedback.label)))
            if rule is not None:
                q = q.where(col(Token.rule) == rule)
            counts: dict[str, dict[str, int]] = {}
            for r, label, n in s.exec(q).all():
                counts.setdefault(r, {})[label] = int(n)
            return counts
