"""Parked documents: the part of :class:`crawler.store.database.Store` that keeps per-document fetches
which failed transiently, so that the source's cursor can move on without losing them.

One row per source and document key. The API is small on purpose (a durable fetch queue may grow
from it): :meth:`~ParkedQueries.park` a document (again), list the :meth:`~ParkedQueries.due_parked`
ones, :meth:`~ParkedQueries.unpark` one that was fetched or skipped, :meth:`~ParkedQueries.give_up` on
one past its give-up age (the row stays, as the record that it was skipped), and
:meth:`~ParkedQueries.parked_documents` to look at them.

The ``ref`` is stored sealed with the store's cipher (AES-GCM, bound to its row): it is built from
names the public chose (a gist's file name, a paste's title, a snippet's path) and may hold a token,
which is never stored in plaintext. A row written before refs were sealed is read as it is. The
engine stores the key with any token in it redacted (:meth:`crawler.engine.parking.Parking.stored_key`).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from crawler.store.crypto import Cipher
from crawler.store.models import ParkedDocument
from crawler.store.sealing import seal, unseal


def _aad(source: str, key: str) -> bytes:
    return f"parked\0{source}\0{key}".encode()


class ParkedQueries:
    """Mixed into ``Store``, which supplies ``session()``."""

    if TYPE_CHECKING:
        cipher: Cipher | None

        def session(self) -> AbstractContextManager[Session]: ...

    def _seal(self, source: str, key: str, ref: Mapping[str, Any]) -> dict[str, Any]:
        return seal(self.cipher, _aad(source, key), ref)

    def _opened(self, rows: list[ParkedDocument]) -> list[ParkedDocument]:
        """The rows with their refs unsealed (a row from before sealing is left as it is)."""
        for row in rows:
            row.ref = unseal(self.cipher, _aad(row.source, row.key), row.ref, f"parked document {row.key!r}")
        return rows

    def park(self, source: str, key: str, ref: Mapping[str, Any], *, reason: str, detail: str,
             now: datetime, retry_at: datetime) -> ParkedDocument:
        """Park a document, or count one more failed attempt of one already parked (its first failure
        is kept: the give-up age counts from there). A row already given up stays given up."""
        with self.session() as s:
            row = s.get(ParkedDocument, (source, key))
            if row is None:
                row = ParkedDocument(source=source, key=key, first_failed_at=now)
            if row.given_up_at is None:
                row.ref = self._seal(source, key, ref)
                row.reason, row.detail = reason, detail[:500]
                row.attempts += 1
                row.next_attempt_at = retry_at
            s.add(row)
            s.commit()
        return self._opened([row])[0]

    def due_parked(self, source: str, now: datetime, limit: int = 50) -> list[ParkedDocument]:
        """Parked documents of ``source`` whose next attempt has come, the longest due first."""
        query = (select(ParkedDocument)
                 .where(col(ParkedDocument.source) == source, col(ParkedDocument.given_up_at).is_(None),
                        col(ParkedDocument.next_attempt_at) <= now)
                 .order_by(col(ParkedDocument.next_attempt_at)).limit(limit))
        with self.session() as s:
            rows = list(s.exec(query).all())
        return self._opened(rows)

    def unpark(self, source: str, key: str) -> None:
        """Forget a parked document: it was fetched, or skipped for good."""
        with self.session() as s:
            s.execute(delete(ParkedDocument).where(col(ParkedDocument.source) == source,
                                                   col(ParkedDocument.key) == key))
            s.commit()

    def give_up(self, source: str, key: str, now: datetime, detail: str) -> None:
        """Stop fetching a parked document; the row stays as the record that it was skipped."""
        with self.session() as s:
            s.execute(update(ParkedDocument)
                      .where(col(ParkedDocument.source) == source, col(ParkedDocument.key) == key)
                      .values(given_up_at=now, next_attempt_at=None, detail=detail[:500]))
            s.commit()

    def parked_documents(self, source: str | None = None, *, given_up: bool | None = None) -> list[ParkedDocument]:
        """Parked documents (of one source; only those waiting or only those given up), oldest first."""
        query = select(ParkedDocument).order_by(col(ParkedDocument.first_failed_at), col(ParkedDocument.key))
        if source is not None:
            query = query.where(col(ParkedDocument.source) == source)
        if given_up is not None:
            given = col(ParkedDocument.given_up_at)
            query = query.where(given.is_not(None) if given_up else given.is_(None))
        with self.session() as s:
            rows = list(s.exec(query).all())
        return self._opened(rows)

    def count_parked(self) -> dict[str, int]:
        """Documents waiting for another attempt, per source (``/healthz``)."""
        query = (select(ParkedDocument.source, func.count()).where(col(ParkedDocument.given_up_at).is_(None))
                 .group_by(col(ParkedDocument.source)))
        with self.session() as s:
            return {name: int(n) for name, n in s.exec(query).all()}
