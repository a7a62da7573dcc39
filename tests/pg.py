"""PostgreSQL for the tests: one fresh schema per test, dropped afterwards.

The server comes from ``$LEAKPATROL_TEST_PG`` (read at import: the autouse fixture clears every
``LEAKPATROL*`` variable before a test runs), default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``.
A schema is selected with libpq's ``options=-csearch_path=…`` in the URL, so the store under test
needs no special parameter. When the server is unreachable the test is skipped (CI starts one, and
sets ``LEAKPATROL_TEST_PG_REQUIRED=1`` so that a missing server fails the run).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import pytest

PG_URL = os.environ.get("LEAKPATROL_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PG_REQUIRED = os.environ.get("LEAKPATROL_TEST_PG_REQUIRED", "") not in ("", "0")
"""CI sets ``LEAKPATROL_TEST_PG_REQUIRED=1``: an unreachable server then fails instead of skipping."""


def libpq_url(url: str = PG_URL) -> str:
    """The SQLAlchemy URL as a plain libpq URL (``postgresql://…``)."""
    _, sep, rest = url.partition("://")
    return "postgresql" + sep + rest if sep else url


@cache
def _reachable() -> str | None:
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    try:
        with psycopg.connect(libpq_url(), connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"{type(exc).__name__}"


def require_pg() -> None:
    problem = _reachable()
    if problem is not None:
        message = f"PostgreSQL not reachable at {PG_URL.rsplit('@', 1)[-1]} ({problem})"
        if PG_REQUIRED:
            pytest.fail(message)
        pytest.skip(message)


@contextmanager
def pg_schema() -> Iterator[tuple[str, str]]:
    """``(sqlalchemy_url, schema)`` for a fresh schema that is dropped afterwards."""
    import psycopg

    require_pg()
    schema = "lp_" + uuid.uuid4().hex[:16]
    with psycopg.connect(libpq_url(), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}", schema
    finally:
        with psycopg.connect(libpq_url(), autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def dump_schema(schema: str) -> bytes:
    """Everything in ``schema``: ``pg_dump`` when it exists, else every row of every table via SQL."""
    import psycopg

    pg_dump = shutil.which("pg_dump")
    if pg_dump is not None:
        proc = subprocess.run([pg_dump, "--no-owner", "-n", schema, libpq_url()], capture_output=True,
                              timeout=60, check=False)
        if proc.returncode == 0:
            return proc.stdout
    out: list[bytes] = []
    with psycopg.connect(libpq_url()) as conn:
        tables = conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                              (schema,)).fetchall()
        for (name,) in tables:
            for row in conn.execute(f'SELECT * FROM {schema}."{name}"').fetchall():
                out.append(repr(row).encode())
    return b"\n".join(out)
