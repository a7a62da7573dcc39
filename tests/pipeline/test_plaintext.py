"""No plaintext token in the PostgreSQL store (a ``pg_dump``), in any log record, or in the messages
of the errors a user can meet. The SQLite file, CLI output and crawl logs are covered end to end in
``test_crawl_e2e``."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import httpx
import pytest
import respx

from crawler.detect.redaction import fingerprint
from crawler.kernel.errors import EncryptionKeyError, StoreError
from crawler.store.crypto import Cipher
from crawler.store.database import open_store
from tests.pg import dump_schema, pg_schema
from tests.pipeline.helpers import Issuer, build, doc, endpoint, running, secrets, webhook
from tests.store.helpers import new_token


def assert_absent(tokens: list[str], blob: bytes | str, where: str) -> None:
    data = blob.encode() if isinstance(blob, str) else blob
    for token in tokens:
        body = token[len("acme_live_"):]
        assert token.encode() not in data, f"plaintext token in {where}"
        assert body.encode() not in data, f"token body in {where}"
        assert token.encode().hex().encode() not in data, f"hex-encoded token in {where}"


@pytest.mark.postgres
async def test_postgres_dump_logs_and_errors_hold_no_plaintext(
        tmp_path: Path, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secrets(monkeypatch)
    issuer, hook = Issuer(no_network), endpoint(no_network)
    live, inactive, unknown, failed = (new_token() for _ in range(4))
    issuer.live |= {live, failed}
    issuer.unavailable.add(unknown)
    hook.route.mock(side_effect=lambda request: (
        httpx.Response(400, text=request.content.decode()) if failed.encode() in request.content
        else httpx.Response(200)))  # an endpoint that echoes the whole body back with its error
    tokens = [live, inactive, unknown, failed]
    cipher = Cipher(os.urandom(32))
    with pg_schema() as (url, schema):
        store = open_store(url, cipher)
        try:
            cfg = build(tmp_path, url=url, notifiers=[webhook(on=["live", "unknown"])])
            async with running(cfg, store=store) as h:
                await h.engine.process([doc("\n".join(f"K{i}={t}" for i, t in enumerate(tokens)))])
                statuses = sorted(t.status for t in h.store.tokens())
                deliveries = sorted(d.status for d in h.store.deliveries())
            with pytest.raises(EncryptionKeyError) as wrong_key:
                open_store(url, Cipher(os.urandom(32)))
            with pytest.raises(StoreError) as missing:
                store.token(10_000)
            dump = dump_schema(schema)
        finally:
            store.close()
    assert statuses == ["inactive", "live", "live", "unknown"]
    assert deliveries == ["delivered", "delivered", "failed"]
    assert hook.route.call_count == 3
    assert all(fingerprint(t).encode() in dump for t in tokens)  # the rows are in the dump …
    assert_absent(tokens, dump, "the PostgreSQL dump")  # … the tokens are not
    logs = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert "failed permanently" in logs and "new acme-live token" in logs
    assert_absent(tokens, logs, "the logs")
    assert_absent(tokens, f"{wrong_key.value} {missing.value!r}", "exception messages")
