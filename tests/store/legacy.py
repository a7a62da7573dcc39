"""Databases as leakpatrol made them before Alembic, for the migration tests.

``legacy_v1.<dialect>.sql`` is the DDL that leakpatrol 0.1's ``migrate`` ran (``SQLModel.metadata.create_all``),
captured from that code and frozen, so these databases stay what an operator has on disk even after
the models change. 0.1 then wrote ``lp_meta.schema_version = "1"``, and later the key check. Rows are
written through reflected tables (naive UTC datetimes, JSON, binary), as 0.1 stored them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, MetaData, create_engine, insert, select, text

from crawler.detect.redaction import fingerprint, redact
from crawler.store.crypto import Cipher
from crawler.store.migrations import VERSION_TABLE
from tests.store.helpers import RULE, new_token

HERE = Path(__file__).parent
T0 = datetime(2026, 11, 28, 22, 0, 0)  # naive UTC, as stored


def legacy_ddl(dialect: str) -> list[str]:
    sql = (HERE / f"legacy_v1.{dialect}.sql").read_text("utf-8")
    body = "\n".join(line for line in sql.splitlines() if not line.startswith("--"))
    return [stmt.strip() for stmt in body.split(";") if stmt.strip()]


def make_legacy_database(url: str, schema_version: str | None = "1") -> None:
    """The tables of schema v1 and the ``schema_version`` row, as leakpatrol 0.1 left them."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for stmt in legacy_ddl(engine.dialect.name):
                conn.exec_driver_sql(stmt)
            if schema_version is not None:
                conn.execute(text("INSERT INTO lp_meta (\"key\", value) VALUES ('schema_version', :v)"),
                             {"v": schema_version})
    finally:
        engine.dispose()


def _insert(conn: Connection, md: MetaData, table: str, **values: Any) -> int:
    res = conn.execute(insert(md.tables[table]).values(**values))
    key = res.inserted_primary_key
    return int(key[0]) if key and isinstance(key[0], int) else 0


def fill_legacy_database(url: str, cipher: Cipher) -> dict[int, str]:
    """A row or more in every table, the key bound; returns ``{token id: plaintext token}``."""
    engine = create_engine(url)
    tokens: dict[int, str] = {}
    try:
        with engine.begin() as conn:
            md = MetaData()
            md.reflect(conn)
            conn.execute(insert(md.tables["lp_meta"]).values(key="key_check", value=cipher.check_blob().hex()))
            for status in ("live", "inactive"):
                plain = new_token()
                fp = fingerprint(plain)
                tid = _insert(conn, md, "lp_token", fingerprint=fp, rule=RULE.id, severity="critical",
                              redacted=redact(plain, RULE.prefix, fp),
                              value_enc=cipher.encrypt(plain.encode(), fp.encode()), status=status,
                              status_reason="introspection", first_seen_at=T0,
                              first_published_at=T0 - timedelta(minutes=3), verified_at=T0 + timedelta(seconds=2),
                              revoked_at=T0 + timedelta(hours=1) if status == "inactive" else None,
                              next_check_at=T0 + timedelta(hours=1) if status == "live" else None,
                              check_attempts=0, sightings=2)
                tokens[tid] = plain
                for n, source in enumerate(("github_gists", "pastebin")):
                    _insert(conn, md, "lp_sighting", token_id=tid, source=source, url=f"https://example.test/{tid}/{n}",
                            path="a.env" if n == 0 else "", line=3 + n, published_at=T0 - timedelta(minutes=3),
                            found_at=T0 + timedelta(seconds=n), place="octo/leaky", meta={"repo": "octo/leaky", "n": n})
                _insert(conn, md, "lp_verification", token_id=tid, verifier="acme-introspect", status=status,
                        reason="introspection", at=T0 + timedelta(seconds=2))
                _insert(conn, md, "lp_delivery", webhook_id=f"msg_{tid}", token_id=tid, notifier="acme-revoke",
                        event_type="token.exposed", payload=None, status="pending", attempts=2, created_at=T0,
                        next_attempt_at=T0 + timedelta(minutes=1), last_attempt_at=T0 + timedelta(seconds=30),
                        delivered_at=None, last_error="HTTP 503", last_status=503, claimed_by="host:123",
                        claimed_until=T0 + timedelta(minutes=2))
            _insert(conn, md, "lp_delivery", webhook_id="msg_report", token_id=None, notifier="security-chat",
                    event_type="report.weekly", payload={"report": {"week": "2026-W48"}, "summary": "2 live"},
                    status="delivered", attempts=1, created_at=T0, next_attempt_at=None, last_attempt_at=T0,
                    delivered_at=T0, last_error="", last_status=200, claimed_by=None, claimed_until=None)
            _insert(conn, md, "lp_source_state", name="github_gists", cursor={"since": "2026-11-28T22:00:00Z",
                                                                            "seen": ["a", "b"]},
                    next_poll_at=T0 + timedelta(minutes=1), last_poll_at=T0, last_success_at=T0, last_error_at=None,
                    last_error="", failing_since=None, lease_owner="host:123", lease_until=T0 + timedelta(minutes=5))
            _insert(conn, md, "lp_notifier_state", notifier="old-hook", disabled_at=T0, reason="HTTP 410")
    finally:
        engine.dispose()
    return tokens


def snapshot(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of every leakpatrol table (not Alembic's), in primary-key order."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            md = MetaData()
            md.reflect(conn)
            out: dict[str, list[dict[str, Any]]] = {}
            for name, table in sorted(md.tables.items()):
                if name == VERSION_TABLE or not name.startswith("lp_"):
                    continue
                rows = conn.execute(select(table).order_by(*table.primary_key.columns)).mappings()
                out[name] = [{k: bytes(v) if isinstance(v, memoryview) else v for k, v in row.items()} for row in rows]
            return out
    finally:
        engine.dispose()
