"""Tokens (encrypted), their sightings and verdicts: the part of :class:`crawler.store.database.Store`
that the pipeline writes for every match and the report and CLI list."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from crawler.kernel.errors import KeyError_, StoreError
from crawler.store.crypto import Cipher
from crawler.store.models import Sighting, Token, Verification, utcnow


@dataclass(frozen=True)
class Found:
    """Outcome of recording one match: the token row id and what was new."""

    token_id: int
    new_token: bool
    new_sighting: bool


class TokenQueries:
    """Mixed into ``Store``, which supplies ``cipher`` and ``session()``."""

    cipher: Cipher | None

    if TYPE_CHECKING:
        def session(self) -> AbstractContextManager[Session]: ...

    def record(self, *, token: bytes, fingerprint: str, rule: str, severity: str, redacted: str,
               source: str, url: str, path: str | None, line: int, published_at: datetime | None,
               place: str = "", meta: dict[str, Any] | None = None, now: datetime | None = None) -> Found:
        """Upsert the token (by fingerprint) and add the sighting (unique per place)."""
        if self.cipher is None:
            raise KeyError_("no key loaded")
        now = now or utcnow()
        with self.session() as s:
            tok = s.exec(select(Token).where(Token.fingerprint == fingerprint)).first()
            new_token = tok is None
            if tok is None:
                tok = Token(fingerprint=fingerprint, rule=rule, severity=severity, redacted=redacted,
                            value_enc=self.cipher.encrypt(token, fingerprint.encode()), first_seen_at=now,
                            first_published_at=published_at, next_check_at=now)
                s.add(tok)
                try:
                    s.commit()
                except IntegrityError:  # another process stored it first
                    s.rollback()
                    new_token = False
                    tok = s.exec(select(Token).where(Token.fingerprint == fingerprint)).one()
            assert tok.id is not None
            sighting = Sighting(token_id=tok.id, source=source, url=url, path=path or "", line=line,
                                published_at=published_at, found_at=now, place=place, meta=meta or {})
            s.add(sighting)
            try:
                s.commit()
                new_sighting = True
            except IntegrityError:
                s.rollback()
                new_sighting = False
            if new_sighting:
                s.execute(update(Token).where(col(Token.id) == tok.id).values(sightings=Token.sightings + 1))
                if published_at and (tok.first_published_at is None or published_at < tok.first_published_at):
                    s.execute(update(Token).where(col(Token.id) == tok.id).values(first_published_at=published_at))
                s.commit()
            return Found(tok.id, new_token, new_sighting)

    def token(self, token_id: int) -> Token:
        with self.session() as s:
            tok = s.get(Token, token_id)
            if tok is None:
                raise StoreError(f"no token #{token_id}")
            return tok

    def reveal(self, tok: Token) -> str:
        """Decrypt a stored token (only for the verifier and webhook of its rule)."""
        if self.cipher is None:
            raise KeyError_("no key loaded")
        return self.cipher.decrypt(tok.value_enc, tok.fingerprint.encode()).decode("ascii", "replace")

    def first_sighting(self, token_id: int) -> Sighting | None:
        with self.session() as s:
            return s.exec(select(Sighting).where(Sighting.token_id == token_id)
                          .order_by(col(Sighting.found_at), col(Sighting.id))).first()

    def record_verdict(self, token_id: int, verifier: str, status: str, reason: str, *,
                       next_check_at: datetime | None, now: datetime | None = None) -> tuple[str, str]:
        """Store a verdict; return ``(old_status, new_status)``. live → inactive sets ``revoked_at``."""
        now = now or utcnow()
        with self.session() as s:
            tok = s.get(Token, token_id)
            if tok is None:
                raise StoreError(f"no token #{token_id}")
            old = tok.status
            s.add(Verification(token_id=token_id, verifier=verifier, status=status, reason=reason, at=now))
            tok.status, tok.status_reason, tok.next_check_at = status, reason, next_check_at
            if status in ("live", "inactive"):
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
