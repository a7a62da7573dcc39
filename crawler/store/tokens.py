"""Tokens (encrypted), their sightings and verdicts: the part of :class:`crawler.store.database.Store`
that the pipeline writes for every match and the report and CLI list."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, or_, update
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from crawler.kernel.clock import utcnow
from crawler.kernel.errors import EncryptionKeyError, StoreError
from crawler.kernel.status import DETERMINATE
from crawler.store.crypto import Cipher
from crawler.store.models import Delivery, Sighting, Token, Verification
from crawler.store.sql import insert_or_skip


@dataclass(frozen=True)
class Found:
    """Outcome of recording one match: the token row id and what was new."""

    token_id: int
    new_token: bool
    new_sighting: bool


def first_sighting_query(token_id: int) -> SelectOfScalar[Sighting]:
    """Where a token was first seen (the webhook's ``source``, ``url`` and ``location``)."""
    return (select(Sighting).where(Sighting.token_id == token_id)
            .order_by(col(Sighting.found_at), col(Sighting.id)))


class TokenQueries:
    """Mixed into ``Store``, which supplies ``cipher`` and ``session()``."""

    cipher: Cipher | None
    is_sqlite: bool

    if TYPE_CHECKING:
        def session(self) -> AbstractContextManager[Session]: ...

    def record(self, *, token: bytes, fingerprint: str, rule: str, severity: str, redacted: str,
               source: str, url: str, path: str | None, line: int, published_at: datetime | None,
               place: str = "", meta: dict[str, Any] | None = None, now: datetime | None = None) -> Found:
        """Upsert the token (by fingerprint) and add the sighting (unique per place)."""
        return self.record_many([{
            "token": token, "fingerprint": fingerprint, "rule": rule, "severity": severity, "redacted": redacted,
            "source": source, "url": url, "path": path, "line": line, "published_at": published_at,
            "place": place, "meta": meta, "now": now}])[0]

    def record_many(self, matches: Sequence[Mapping[str, Any]]) -> list[Found]:
        """:meth:`record` for every match of a batch of documents, in one transaction (one store call
        from the daemon per batch, not one per match)."""
        if self.cipher is None:
            raise EncryptionKeyError("no key loaded")
        with self.session() as s:
            found = [self._record(s, self.cipher, **m) for m in matches]
            s.commit()
            return found

    def _record(self, s: Session, cipher: Cipher, *, token: bytes, fingerprint: str, rule: str, severity: str,
                redacted: str, source: str, url: str, path: str | None, line: int, published_at: datetime | None,
                place: str = "", meta: dict[str, Any] | None = None, now: datetime | None = None) -> Found:
        # Conflicts are skipped in SQL: three statements per match, no rollback, no retry.
        now = now or utcnow()
        new = Token(fingerprint=fingerprint, rule=rule, severity=severity, redacted=redacted,
                    value_enc=cipher.encrypt(token, fingerprint.encode()), first_seen_at=now,
                    first_published_at=published_at, next_check_at=now)
        token_id = s.execute(insert_or_skip(Token, self.is_sqlite).values(**new.model_dump(exclude={"id"}))
                             .returning(col(Token.id))).scalar()
        new_token = token_id is not None
        if token_id is None:  # known (or stored by another process a moment ago)
            token_id = s.execute(select(col(Token.id)).where(col(Token.fingerprint) == fingerprint)).scalar_one()
        sighting = Sighting(token_id=token_id, source=source, url=url, path=path or "", line=line,
                            published_at=published_at, found_at=now, place=place, meta=meta or {})
        added = s.execute(insert_or_skip(Sighting, self.is_sqlite).values(**sighting.model_dump(exclude={"id"}))
                          .returning(col(Sighting.id))).scalar()
        new_sighting = added is not None
        if new_sighting:
            changes: dict[str, Any] = {"sightings": col(Token.sightings) + 1}
            if published_at is not None and not new_token:
                first = col(Token.first_published_at)
                changes["first_published_at"] = case((or_(first.is_(None), first > published_at), published_at),
                                                     else_=first)
            s.execute(update(Token).where(col(Token.id) == token_id).values(**changes))
        return Found(int(token_id), new_token, new_sighting)

    def token(self, token_id: int) -> Token:
        with self.session() as s:
            tok = s.get(Token, token_id)
            if tok is None:
                raise StoreError(f"no token #{token_id}")
            return tok

    def reveal(self, tok: Token) -> str:
        """Decrypt a stored token (only for the verifier and webhook of its rule)."""
        if self.cipher is None:
            raise EncryptionKeyError("no key loaded")
        return self.cipher.decrypt(tok.value_enc, tok.fingerprint.encode()).decode("ascii", "replace")

    def token_and_first_sighting(self, token_id: int) -> tuple[Token | None, Sighting | None]:
        """What a notification needs about one token, in one session."""
        with self.session() as s:
            return s.get(Token, token_id), s.exec(first_sighting_query(token_id)).first()

    def first_sighting(self, token_id: int) -> Sighting | None:
        with self.session() as s:
            return s.exec(first_sighting_query(token_id)).first()

    def record_verdict(self, token_id: int, verifier: str, status: str, reason: str, *,
                       next_check_at: datetime | None, now: datetime | None = None,
                       outbox: Sequence[Delivery] = ()) -> tuple[str, str]:
        """Store a verdict; return ``(old_status, new_status)``. live → inactive sets ``revoked_at``.

        ``outbox`` rows (the notifications the verdict triggers) are committed in the same
        transaction, skipping any that exist: a crash leaves both the verdict and its rows, or
        neither (the token then stays due for verification)."""
        now = now or utcnow()
        with self.session() as s:
            for row in outbox:
                s.execute(insert_or_skip(Delivery, self.is_sqlite).values(**row.model_dump(exclude={"id"})))
            tok = s.get(Token, token_id)
            if tok is None:
                raise StoreError(f"no token #{token_id}")
            old = tok.status
            s.add(Verification(token_id=token_id, verifier=verifier, status=status, reason=reason, at=now))
            tok.status, tok.status_reason, tok.next_check_at = status, reason, next_check_at
            if status in DETERMINATE:
                tok.verified_at = now
                tok.check_attempts = 0
            else:
                tok.check_attempts += 1
            if old == "live" and status == "inactive" and tok.revoked_at is None:
                tok.revoked_at = now
            s.add(tok)
            s.commit()
            return old, status

    def due_checks(self, now: datetime, limit: int = 100) -> list[Token]:
        """Tokens whose (re-)verification is due: pending/unknown retries and live re-checks."""
        with self.session() as s:
            q = (select(Token).where(col(Token.next_check_at).is_not(None), col(Token.next_check_at) <= now,
                                     col(Token.status).in_(["pending", "unknown", "live"]))
                 .order_by(col(Token.next_check_at)).limit(limit))
            return list(s.exec(q).all())

    # -- listing -----------------------------------------------------------------------------

    def tokens(self, *, status: Sequence[str] | None = None, since: datetime | None = None) -> list[Token]:
        with self.session() as s:
            q = select(Token)
            if status:
                q = q.where(col(Token.status).in_(list(status)))
            if since:
                q = q.where(col(Token.first_seen_at) >= since)
            return list(s.exec(q.order_by(col(Token.first_seen_at).desc())).all())

    def sightings(self, token_ids: Sequence[int] | None = None) -> list[Sighting]:
        with self.session() as s:
            q = select(Sighting)
            if token_ids is not None:
                q = q.where(col(Sighting.token_id).in_(list(token_ids)))
            return list(s.exec(q.order_by(col(Sighting.found_at))).all())

    def verifications(self) -> list[Verification]:
        with self.session() as s:
            return list(s.exec(select(Verification).order_by(col(Verification.at))).all())
