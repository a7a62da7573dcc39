"""The store: tokens (encrypted), sightings, verifications, the delivery outbox and source state.

SQLite (WAL, busy timeout) by default; PostgreSQL when ``storage.url`` says so. Schema changes are
versioned migrations applied on open, so an upgrade never needs a manual step. Several processes
may share one PostgreSQL: sources are polled under a lease and outbox rows are claimed before they
are sent, so each source has one poller and each delivery one sender at a time.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, event, func, or_, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, SQLModel, col, create_engine, select

from crawler.kernel.errors import KeyError_, StoreError
from crawler.store.crypto import Cipher
from crawler.store.models import Delivery, Meta, NotifierState, Sighting, SourceState, Token, Verification

logger = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _v1(engine: Engine) -> None:
    SQLModel.metadata.create_all(engine)


# Append-only: version N is MIGRATIONS[N-1]. Never edit a released step; add a new one.
MIGRATIONS: list[Callable[[Engine], None]] = [_v1]
SCHEMA_VERSION = len(MIGRATIONS)
MIGRATION_LOCK = 0x6C70_6D69  # "lpmi": the advisory lock key taken while migrating


@dataclass(frozen=True)
class Found:
    """Outcome of recording one match: the token row id and what was new."""

    token_id: int
    new_token: bool
    new_sighting: bool


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


class Store:
    """All database access goes through here."""

    def __init__(self, url: str, cipher: Cipher | None) -> None:
        self.url = url
        self.cipher = cipher
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 10}
        else:
            kwargs["pool_pre_ping"] = True
        try:
            self.engine = create_engine(url, **kwargs)
        except Exception as exc:  # bad URL, missing driver
            raise StoreError(f"cannot open {self._safe_url()}: {exc}") from None
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)

    def _safe_url(self) -> str:
        return self.url.split("@")[-1] if "@" in self.url else self.url

    # -- lifecycle ---------------------------------------------------------------------------

    def migrate(self) -> int:
        """Apply pending migrations; return the schema version. On PostgreSQL several daemons may start
        at once: an advisory lock makes them migrate one after the other."""
        try:
            with self.engine.connect() as conn:
                if not self.is_sqlite:
                    conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK})
                try:
                    return self._migrate()
                finally:
                    if not self.is_sqlite:
                        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK})
        except OperationalError as exc:
            raise StoreError(f"cannot open {self._safe_url()}: {exc.orig}") from None

    def _migrate(self) -> int:
        Meta.metadata.create_all(self.engine, tables=[Meta.__table__])  # type: ignore[attr-defined]
        with Session(self.engine) as s:
            row = s.get(Meta, "schema_version")
            current = int(row.value) if row else 0
        if current > SCHEMA_VERSION:
            raise StoreError(f"database schema v{current} is newer than this leakpatrol (v{SCHEMA_VERSION})")
        for version in range(current + 1, SCHEMA_VERSION + 1):
            MIGRATIONS[version - 1](self.engine)
            self._set_meta("schema_version", str(version))
            logger.info("store migrated to schema v%d", version)
        return SCHEMA_VERSION

    def check_key(self) -> None:
        """Bind the key to the store on first use; afterwards a different key is an error."""
        if self.cipher is None:
            raise KeyError_("no key loaded")
        with Session(self.engine) as s:
            row = s.get(Meta, "key_check")
        if row is None:
            try:
                self._set_meta("key_check", self.cipher.check_blob().hex())
                return
            except IntegrityError:  # another daemon bound its key first: it must be ours too
                with Session(self.engine) as s:
                    row = s.get(Meta, "key_check")
        assert row is not None
        self.cipher.verify_check(bytes.fromhex(row.value))

    def has_tokens(self) -> bool:
        with Session(self.engine) as s:
            return s.exec(select(func.count()).select_from(Token)).one() > 0

    def _set_meta(self, key: str, value: str) -> None:
        with Session(self.engine) as s:
            row = s.get(Meta, key)
            if row:
                row.value = value
            else:
                s.add(Meta(key=key, value=value))
            s.commit()

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as s:
            yield s

    def close(self) -> None:
        self.engine.dispose()

    # -- tokens & sightings ------------------------------------------------------------------

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

    # -- outbox ------------------------------------------------------------------------------

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
        now = now or utcnow()
        with self.session() as s:
            res = s.execute(update(Delivery).where(
                col(Delivery.id) == delivery_id, col(Delivery.status) == "pending",
                or_(col(Delivery.claimed_until).is_(None), col(Delivery.claimed_until) < now,
                    col(Delivery.claimed_by) == owner),
            ).values(claimed_by=owner, claimed_until=now + timedelta(seconds=ttl)))
            s.commit()
            if res.rowcount != 1:  # type: ignore[attr-defined]
                return None
            return s.get(Delivery, delivery_id)

    def due_deliveries(self, now: datetime, limit: int = 100, token_id: int | None = None) -> list[Delivery]:
        with self.session() as s:
            q = select(Delivery).where(col(Delivery.status) == "pending", col(Delivery.next_attempt_at) <= now,
                                       or_(col(Delivery.claimed_until).is_(None), col(Delivery.claimed_until) < now))
            if token_id is not None:
                q = q.where(col(Delivery.token_id) == token_id)
            return list(s.exec(q.order_by(col(Delivery.next_attempt_at)).limit(limit)).all())

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
            row.claimed_by = row.claimed_until = None
            if status == "delivered":
                row.delivered_at = now
            s.add(row)
            s.commit()

    def disable_notifier(self, notifier: str, reason: str, now: datetime | None = None) -> None:
        with self.session() as s:
            row = s.get(NotifierState, notifier) or NotifierState(notifier=notifier)
            row.disabled_at, row.reason = now or utcnow(), reason
            s.add(row)
            s.commit()

    def disabled_notifiers(self) -> set[str]:
        with self.session() as s:
            rows = s.exec(select(NotifierState).where(col(NotifierState.disabled_at).is_not(None)))
            return {r.notifier for r in rows}

    # -- sources -----------------------------------------------------------------------------

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

    def acquire_lease(self, name: str, owner: str, ttl: float, now: datetime | None = None) -> bool:
        """One poller per source across processes sharing this database."""
        now = now or utcnow()
        with self.session() as s:
            if s.get(SourceState, name) is None:
                s.add(SourceState(name=name))
                try:
                    s.commit()
                except IntegrityError:
                    s.rollback()
            res = s.execute(update(SourceState).where(
                col(SourceState.name) == name,
                or_(col(SourceState.lease_owner).is_(None), col(SourceState.lease_until) < now,
                    col(SourceState.lease_owner) == owner),
            ).values(lease_owner=owner, lease_until=now + timedelta(seconds=ttl)))
            s.commit()
            return bool(res.rowcount == 1)  # type: ignore[attr-defined]

    def release_lease(self, name: str, owner: str) -> None:
        with self.session() as s:
            s.execute(update(SourceState).where(col(SourceState.name) == name, col(SourceState.lease_owner) == owner)
                      .values(lease_owner=None, lease_until=None))
            s.commit()

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

    def deliveries(self, token_ids: Sequence[int] | None = None) -> list[Delivery]:
        with self.session() as s:
            q = select(Delivery)
            if token_ids is not None:
                q = q.where(col(Delivery.token_id).in_(list(token_ids)))
            return list(s.exec(q).all())

    def verifications(self) -> list[Verification]:
        with self.session() as s:
            return list(s.exec(select(Verification).order_by(col(Verification.at))).all())


def open_store(url: str, cipher: Cipher | None) -> Store:
    """Open, migrate and (with a cipher) bind the key. Raises StoreError / KeyError_."""
    store = Store(url, cipher)
    store.migrate()
    if cipher is not None:
        store.check_key()
    return store
