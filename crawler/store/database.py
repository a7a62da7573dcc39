"""The store: tokens (encrypted), sightings, verifications, the delivery outbox and source state.

SQLite (WAL, busy timeout) by default; PostgreSQL when ``storage.url`` says so. Schema changes are
Alembic revisions (:mod:`crawler.store.migrations`) applied on open, so an upgrade never needs a manual
step. Several processes may share one PostgreSQL: sources are polled under a lease and outbox rows are
claimed before they are sent, so each source has one poller and each delivery one sender at a time;
items of the fetch queue are claimed the same way (:mod:`~crawler.store.workqueue`), each by one process.

:class:`Store` is this module's engine, lifecycle and key binding plus five mixins: tokens and
sightings (:mod:`~crawler.store.tokens`), the outbox (:mod:`~crawler.store.deliveries`), source
state with its leases (:mod:`~crawler.store.leases`), parked documents (:mod:`~crawler.store.parked`)
the issuer's feedback (:mod:`~crawler.store.feedback`) and the fetch queue
(:mod:`~crawler.store.fetches`).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from alembic.util import CommandError
from sqlalchemy import Connection, event, func, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, create_engine, select

from crawler.kernel.errors import EncryptionKeyError, StoreError
from crawler.store.crypto import Cipher
from crawler.store.deliveries import DeliveryQueries
from crawler.store.feedback import FeedbackQueries
from crawler.store.fetches import FetchQueries
from crawler.store.leases import LeaseQueries
from crawler.store.migrations import BASELINE, Upgrade, upgrade
from crawler.store.models import Meta, Token
from crawler.store.parked import ParkedQueries
from crawler.store.tokens import Found, TokenQueries

__all__ = ["MIGRATION_LOCK", "Found", "Store", "open_store"]

logger = logging.getLogger(__name__)
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


class Store(TokenQueries, DeliveryQueries, LeaseQueries, ParkedQueries, FeedbackQueries, FetchQueries):
    """All database access goes through here."""

    def __init__(self, url: str, cipher: Cipher | None) -> None:
        self.url = url
        self.cipher = cipher
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 10}
        else:
            # No pre-ping: it costs a round trip per store call (10 ms to a database 5 ms away, a third
            # of the hot path). A connection that died (PostgreSQL restarted) fails its first statement,
            # SQLAlchemy invalidates the pool, and :class:`crawler.store.offload.Offload` runs the call
            # once more on a fresh connection.
            kwargs["pool_pre_ping"] = False
        try:
            self.engine = create_engine(url, **kwargs)
        except Exception as exc:  # bad URL, missing driver
            raise StoreError(f"cannot open {self._safe_url()}: {exc}") from None
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)

    def _safe_url(self) -> str:
        return self.url.split("@")[-1] if "@" in self.url else self.url

    # -- lifecycle ---------------------------------------------------------------------------

    def migrate(self) -> str:
        """Upgrade the schema to the newest Alembic revision and return it. On PostgreSQL several
        daemons may start at once: an advisory lock makes them migrate one after the other. A database
        made before Alembic is recorded at the baseline (never re-created); one at a revision this
        leakpatrol does not know (a newer leakpatrol migrated it) is a :class:`StoreError`."""
        try:
            with self.engine.connect() as conn:
                if not self.is_sqlite:
                    conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK})
                    conn.commit()  # the lock belongs to the session and outlives this transaction
                try:
                    done = self._upgrade(conn)
                finally:
                    if not self.is_sqlite:
                        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK})
                        conn.commit()
        except OperationalError as exc:
            raise StoreError(f"cannot open {self._safe_url()}: {exc.orig}") from None
        except CommandError as exc:
            raise StoreError(f"cannot migrate {self._safe_url()}: {exc}") from None
        if done.adopted:
            logger.info("store migrated to revision %s (a database from before Alembic, schema v1: recorded "
                        "at the baseline %s, no table re-created)", done.after, BASELINE)
        elif done.before != done.after:
            logger.info("store migrated to revision %s (from %s)", done.after, done.before or "an empty database")
        return done.after

    def _upgrade(self, conn: Connection) -> Upgrade:
        """One transaction, all or nothing. On SQLite ``BEGIN IMMEDIATE`` takes the write lock first, so
        processes starting at once migrate one after the other there too; batch migrations copy and drop
        tables, so foreign keys are off meanwhile (the pragma only works outside a transaction)."""
        if self.is_sqlite:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()
        try:
            with conn.begin():
                if self.is_sqlite:  # the driver would only BEGIN before DML, leaving the DDL outside
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                done = upgrade(conn)
            return done
        finally:
            if self.is_sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()

    def check_key(self) -> None:
        """Bind the key to the store on first use; afterwards a different key is an error."""
        if self.cipher is None:
            raise EncryptionKeyError("no key loaded")
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
    """Open, migrate and (with a cipher) bind the key. Raises StoreError / EncryptionKeyError."""
    store = Store(url, cipher)
    store.migrate()
    if cipher is not None:
        store.check_key()
    return store
