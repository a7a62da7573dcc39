"""Alembic migrations, on SQLite and PostgreSQL alike (see conftest's ``db`` fixture): a fresh database,
a database made before Alembic, the models against the revisions, re-running, and refusals."""

from __future__ import annotations

import logging
import os
import re
import threading
from datetime import timedelta
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, create_engine, event, inspect, text
from sqlmodel import SQLModel

import crawler.store.migrations as migrations
from crawler.kernel.errors import EncryptionKeyError, StoreError
from crawler.store.crypto import Cipher
from crawler.store.database import Store, open_store
from crawler.store.migrations import BASELINE, VERSION_TABLE, alembic_config, check, head
from tests.store.conftest import Db
from tests.store.helpers import T0, new_token, record
from tests.store.legacy import fill_legacy_database, make_legacy_database, snapshot

TABLES = {"lp_meta", "lp_token", "lp_sighting", "lp_verification", "lp_delivery", "lp_source_state",
          "lp_notifier_state"}
"""The baseline's tables (what leakpatrol made before Alembic)."""
HEAD_TABLES = TABLES | {"lp_parked_document", "lp_feedback", "lp_fetch"}
"""Every table at the head revision."""
WRITES = ("CREATE", "ALTER", "DROP", "INSERT", "UPDATE", "DELETE")


def revision_of(url: str) -> tuple[str, ...]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return migrations.current(conn)
    finally:
        engine.dispose()


def legacy_guard(store: Store) -> str | None:
    with store.engine.connect() as conn:
        value: str | None = conn.execute(text("SELECT value FROM lp_meta WHERE \"key\" = 'schema_version'")).scalar()
        return value


def test_the_revisions_form_one_line_from_the_baseline() -> None:
    revs = list(migrations.scripts().walk_revisions())
    assert [r.revision for r in revs][-1] == BASELINE and revs[-1].down_revision is None
    assert len(migrations.scripts().get_heads()) == 1 and head() == revs[0].revision
    # Ids count up: "0002", or "0003_what" where parallel work named its revision ahead of time.
    numbers = [int(r.revision.split("_", 1)[0]) for r in reversed(revs)]
    assert numbers[0] == 1 and numbers == sorted(set(numbers))
    assert all(re.fullmatch(r"\d{4}(_[a-z0-9_]+)?", r.revision) for r in revs)


# -- a fresh database --------------------------------------------------------------------------


def test_a_fresh_database_is_upgraded_to_head(db: Db, caplog: pytest.LogCaptureFixture) -> None:
    store = Store(db.url, None)
    try:
        assert set(inspect(store.engine).get_table_names()) == set()
        with caplog.at_level(logging.INFO, logger="crawler.store.database"):
            assert store.migrate() == head()
        assert set(inspect(store.engine).get_table_names()) == HEAD_TABLES | {VERSION_TABLE}
        assert revision_of(db.url) == (head(),)
        assert f"store migrated to revision {head()} (from an empty database)" in caplog.messages
        assert legacy_guard(store) == ("1" if head() == BASELINE else "2")
        if db.kind == "sqlite":  # off while migrating, on again for the connection the pool hands out next
            with store.engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        store.close()


def test_models_and_migrations_agree(db: Db) -> None:
    """The CI check: a database upgraded to head is what the models describe, on both dialects."""
    open_store(db.url, None).close()
    engine = create_engine(db.url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
            assert compare_metadata(ctx, SQLModel.metadata) == []
            changed = MetaData()
            for table in SQLModel.metadata.sorted_tables:
                table.to_metadata(changed)
            changed.tables["lp_token"].append_column(Column("added_later", Integer, nullable=True))
            diff = compare_metadata(MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}), changed)
        assert [(d[0], d[2], d[3].name) for d in diff] == [("add_column", "lp_token", "added_later")]
    finally:
        engine.dispose()


def test_the_check_command_passes_now_and_fails_on_a_model_without_its_revision(
        db: Db, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert check.main(["--url", db.url]) == 0
    assert "agree" in capsys.readouterr().out
    assert check.main([]) == 0  # a temporary SQLite file
    changed = MetaData()
    for table in SQLModel.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["lp_delivery"].append_column(Column("priority", Integer, nullable=True))
    real = check.differences
    monkeypatch.setattr(check, "differences", lambda conn: real(conn, changed))
    assert check.main([]) == 1
    out = capsys.readouterr().out
    assert "differ" in out and "priority" in out


def test_the_baseline_is_the_schema_leakpatrol_made_before_alembic(db: Db) -> None:
    make_legacy_database(db.url)
    engine = create_engine(db.url)
    try:
        legacy = MetaData()
        with engine.begin() as conn:
            legacy.reflect(conn)
            legacy.drop_all(conn)
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), BASELINE)
        with engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) == TABLES | {VERSION_TABLE}
            assert compare_metadata(MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}),
                                    legacy) == []
    finally:
        engine.dispose()


# -- a database from before Alembic -------------------------------------------------------------


def test_a_database_from_before_alembic_is_adopted_with_every_row_intact(
        db: Db, cipher: Cipher, caplog: pytest.LogCaptureFixture) -> None:
    make_legacy_database(db.url)
    tokens = fill_legacy_database(db.url, cipher)
    before = snapshot(db.url)
    assert set(before) == TABLES and all(before[t] for t in TABLES)
    with caplog.at_level(logging.INFO, logger="crawler.store.database"):
        store = open_store(db.url, cipher)  # migrates, then checks that the key still binds
    try:
        assert revision_of(db.url) == (head(),)
        assert any(m.startswith(f"store migrated to revision {head()} (a database from before Alembic")
                   for m in caplog.messages)
        after = snapshot(db.url)
        for table, rows in before.items():
            if table == "lp_meta":  # schema_version is the guard for older leakpatrols, checked below
                rows = [r for r in rows if r["key"] != "schema_version"]
                after[table] = [r for r in after[table] if r["key"] != "schema_version"]
            assert [{k: r[k] for k in rows[0]} for r in after[table]] == rows, table
        assert {t.id: store.reveal(t) for t in store.tokens()} == tokens
        live = next(t for t in store.tokens() if t.status == "live")
        assert live.first_seen_at == T0 and live.next_check_at == T0 + timedelta(hours=1)
        assert {s.meta["n"] for s in store.sightings([live.id or 0])} == {0, 1}
        assert store.deliveries([live.id or 0])[0].claimed_by == "host:123"
        assert [d.payload for d in store.deliveries() if d.token_id is None] == [
            {"report": {"week": "2026-W48"}, "summary": "2 live"}]
        assert store.source_state("github_gists").cursor == {"since": "2026-11-28T22:00:00Z", "seen": ["a", "b"]}
        assert store.disabled_notifiers() == {"old-hook"} and len(store.verifications()) == 2
        fresh = record(store, new_token())  # ids go on from the old rows (PostgreSQL sequences too)
        assert fresh.new_token and fresh.token_id > max(tokens)
        assert legacy_guard(store) == ("1" if head() == BASELINE else "2")
    finally:
        store.close()
    with pytest.raises(EncryptionKeyError, match="does not decrypt"):
        open_store(db.url, Cipher(os.urandom(32)))
    open_store(db.url, cipher).close()  # and opening it again is a plain start


def test_leakpatrol_tables_without_a_schema_version_are_left_untouched(db: Db) -> None:
    make_legacy_database(db.url, schema_version=None)  # 0.1 stopped between create_all and its version row
    before = snapshot(db.url)
    store = Store(db.url, None)
    try:
        with pytest.raises(StoreError, match=r"leakpatrol tables .* but no schema revision .* left untouched"):
            store.migrate()
        assert VERSION_TABLE not in inspect(store.engine).get_table_names()
        assert snapshot(db.url) == before
    finally:
        store.close()


def test_a_pre_alembic_database_of_a_newer_schema_is_refused(db: Db) -> None:
    make_legacy_database(db.url, schema_version="2")
    store = Store(db.url, None)
    try:
        with pytest.raises(StoreError, match="database schema v2 is newer than this leakpatrol"):
            store.migrate()
        assert VERSION_TABLE not in inspect(store.engine).get_table_names()
    finally:
        store.close()


# -- re-running, refusing, failing, racing ------------------------------------------------------


def test_migrating_twice_is_a_no_op(db: Db, cipher: Cipher, caplog: pytest.LogCaptureFixture) -> None:
    first = open_store(db.url, cipher)
    found = record(first, new_token())
    first.close()
    before = snapshot(db.url)
    again = Store(db.url, cipher)
    statements: list[str] = []
    event.listen(again.engine, "before_cursor_execute",
                 lambda _c, _cur, stmt, *_a: statements.append(stmt.lstrip().upper()))
    try:
        caplog.clear()  # the first start above logged its migration
        with caplog.at_level(logging.INFO, logger="crawler.store.database"):
            assert again.migrate() == head()
            assert again.migrate() == head()
        assert statements and not [s for s in statements if s.startswith(WRITES)]
        assert not [m for m in caplog.messages if m.startswith("store migrated")]
        assert snapshot(db.url) == before and [t.id for t in again.tokens()] == [found.token_id]
    finally:
        again.close()


def test_a_database_at_an_unknown_revision_is_refused(db: Db) -> None:
    open_store(db.url, None).close()
    engine = create_engine(db.url)
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
    engine.dispose()
    store = Store(db.url, None)
    try:
        with pytest.raises(StoreError) as info:
            store.migrate()
        message = str(info.value)
        assert "schema revision 9999" in message and "does not know" in message
        assert f"its newest is {head()}" in message and "newer leakpatrol" in message
        assert revision_of(db.url) == ("9999",)
    finally:
        store.close()


def test_a_failed_migration_leaves_nothing_behind_and_frees_the_lock(db: Db, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*_args: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(migrations, "_write_legacy_guard", fail)
    store = Store(db.url, None)
    try:
        with pytest.raises(RuntimeError, match="disk full"):
            store.migrate()
        assert set(inspect(store.engine).get_table_names()) == set()  # the DDL was rolled back too
        monkeypatch.undo()
        assert store.migrate() == head()  # the lock was released
    finally:
        store.close()


def test_daemons_starting_at_once_migrate_one_after_the_other(db: Db, caplog: pytest.LogCaptureFixture) -> None:
    results: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(5)

    def daemon() -> None:
        store = Store(db.url, None)
        try:
            start.wait()
            results.append(store.migrate())
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            store.close()

    with caplog.at_level(logging.INFO, logger="crawler.store.database"):
        threads = [threading.Thread(target=daemon) for _ in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert errors == [] and results == [head()] * 5
    assert len([m for m in caplog.messages if m.startswith("store migrated")]) == 1
    assert revision_of(db.url) == (head(),)
