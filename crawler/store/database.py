"""The store: tokens (encrypted), sightings, verifications, the delivery outbox and source state.

SQLite (WAL, busy timeout) by default; PostgreSQL when ``storage.url`` says so. Schema changes are
versioned migrations applied on open, so an upgrade never needs a manual step. Several processes
may share one PostgreSQL: sources are polled under a lease and outbox rows are claimed before they
are sent, so each source has one poller and each delivery one sender at a time.

:class:`Store` is this module's engine, lifecycle and key binding plus three mixins: tokens and
sightings (:mod:`~crawler.store.tokens`), the outbox (:mod:`~crawler.store.deliveries`) and source
state with its leases (:mod:`~crawler.store.leases`).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event, func, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, SQLModel, create_engine, select

from crawler.kernel.errors import KeyError_, StoreError
from crawler.store.crypto import Cipher
from crawler.store.deliveries import DeliveryQueries
from crawler.store.leases import LeaseQueries
from crawler.store.models import Meta, Token
from crawler.store.tokens import Found, TokenQueries

__all__ = ["MIGRATIONS", "MIGRATION_LOCK", "SCHEMA_VERSION", "Found", "Store", "open_store"]

logger = logging.getLogger(__name__)


def _v1(engine: Engine) -> None:
    SQLModel.metadata.create_all(engine)


# Append-only: version N is MIGRATIONS[N-1]. Never edit a released step; add a new one.
MIGRATIONS: list[Callable[[Engine], None]] = [_v1]
SCHEMA_VERSION = len(MIGRATIONS)
MIGRATION_LOCK = 0x6C70_6D69  # "lpmi": the advisory lock key taken while migrating


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    _wal(cur)
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _wal(cur: Any, patience: float = 10.0) -> None:
    """Turning a new file to WAL needs it alone, and SQLite then answers "locked" at once instead of
    waiting (no busy handler): processes opening a new file together retry for a while."""
    deadline = time.monotonic() + patience
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


class Store(TokenQueries, DeliveryQueries, LeaseQueries):
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


def open_store(url: str, cipher: Cipher | None) -> Store:
    """Open, migrate and (with a cipher) bind the key. Raises StoreError / KeyError_."""
    store = Store(url, cipher)
    store.migrate()
    if cipher is not None:
        store.check_key()
    return store
