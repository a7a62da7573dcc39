"""Offload: store calls in a thread pool; a call whose pooled PostgreSQL connection died runs again."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest

from crawler.store.crypto import Cipher
from crawler.store.database import open_store
from crawler.store.offload import Offload
from tests.pg import libpq_url, pg_schema
from tests.store.helpers import new_token, record


@pytest.mark.postgres
async def test_a_call_on_a_connection_the_server_dropped_runs_again_on_a_new_one(
        caplog: pytest.LogCaptureFixture) -> None:
    import psycopg

    app = "lp_offload_" + uuid.uuid4().hex[:8]
    with pg_schema() as (url, _schema):
        store = await asyncio.to_thread(open_store, f"{url}&application_name={app}", Cipher(os.urandom(32)))
        db = Offload(workers=1)
        try:
            first = await db(record, store, new_token())
            # PostgreSQL restarts (or a proxy drops idle connections): every pooled connection dies.
            with psycopg.connect(libpq_url(), autocommit=True) as admin:
                killed = admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                       "WHERE application_name = %s", (app,)).fetchone()
            assert killed is not None and killed[0] >= 1
            second = await db(record, store, new_token())
            assert second.new_token and second.token_id != first.token_id
            assert len(await db(store.tokens)) == 2
            assert "connection was lost" in caplog.text
        finally:
            db.close()
            store.close()


async def test_other_errors_are_not_retried() -> None:
    calls: list[int] = []

    def broken() -> None:
        calls.append(1)
        raise RuntimeError("not a lost connection")

    db = Offload(workers=1)
    try:
        with pytest.raises(RuntimeError):
            await db(broken)
    finally:
        db.close()
    assert calls == [1]
