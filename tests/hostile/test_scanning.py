"""Issue 11, build point 1: documents are scanned in worker processes, each under a time limit.

A document full of prefix candidates costs about a second per MiB to confirm. On the event loop it
held up every other source; here it costs one worker ``time_limit`` seconds, is recorded as skipped
(``scan_time_limit``) and its worker is replaced, while the other documents of its batch are
scanned as usual.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.config.model import RuleConfig
from crawler.detect.mint import mint
from crawler.detect.rules import compile_rule
from crawler.detect.scanner import Scanner
from crawler.engine import scanning
from crawler.engine.scanning import NotScanned, ScanWorkers
from crawler.kernel.isolate import WorkerPool
from tests.pipeline.helpers import build, doc, rule, running, secrets
from tests.sources.helpers import ACME as RULE

HOSTILE = (b"acme_live_" + b"A" * 36 + b" ") * (19 * 512 * 1024 // 47)
"""9.5 MiB of candidates whose checksums fail: over two seconds of confirmation, whatever the engine
(the limit in these tests is a fifth of that; a benign document takes a millisecond)."""


@pytest.fixture
def pool() -> Iterator[WorkerPool]:
    p = WorkerPool(2, preload=("crawler.engine.scanning",))
    yield p
    p.close()


def spans(found: object) -> list[tuple[str, int, int, bytes]]:
    assert isinstance(found, list)
    return [(m.rule.id, m.start, m.end, m.token) for m in found]


async def test_workers_find_what_the_scanner_finds_and_count_bad_checksums(pool: WorkerPool) -> None:
    good = [mint(RULE).encode() for _ in range(3)]
    docs = [b"x = " + good[0] + b"\n", b"nothing", b"a\n" + good[1] + b" " + good[2] + b"\nacme_live_" + b"B" * 36]
    workers = ScanWorkers([RULE], pool, time_limit=30)
    await workers.warm()
    got = await workers.scan(docs)
    assert [spans(g) for g in got] == [spans(s) for s in Scanner([RULE]).scan_batch(docs)]
    assert [m.token for g in got for m in g] == good  # type: ignore[union-attr]
    assert workers.bad_checksum["acme-live"] == 1


@pytest.mark.parametrize("chunk", [scanning.CHUNK_BYTES, 1 << 30], ids=["own-chunk", "shared-chunk"])
async def test_a_document_over_its_time_limit_is_skipped_alone_and_its_worker_replaced(
        pool: WorkerPool, chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Alone in its chunk, or in one with the others (which are then scanned again one by one)."""
    monkeypatch.setattr(scanning, "CHUNK_BYTES", chunk)
    token = mint(RULE).encode()
    workers = ScanWorkers([RULE], pool, time_limit=0.5)
    await workers.warm()
    got = await workers.scan([b"before " + token, HOSTILE, b"after " + token])
    assert isinstance(got[1], NotScanned) and got[1].reason == "scan_time_limit"
    assert "took longer than 0.5s" in got[1].detail
    assert [m.token for m in got[0]] == [token] and [m.token for m in got[2]] == [token]  # type: ignore[union-attr]
    assert pool.replaced >= (2 if chunk == 1 << 30 else 1)  # the shared chunk's worker, then its own
    # the pool still works: a fresh worker took the killed one's place
    again = await workers.scan([token])
    assert [m.token for m in again[0]] == [token]  # type: ignore[union-attr]


async def test_a_worker_that_died_is_replaced_and_its_batch_scanned_again(pool: WorkerPool) -> None:
    token = mint(RULE).encode()
    workers = ScanWorkers([RULE], pool, time_limit=30)
    await workers.warm()
    for worker in list(pool._idle):  # as the OOM killer would
        worker.process.kill()
        worker.process.join(5)
    got = await workers.scan([token, b"plain"])
    assert [m.token for m in got[0]] == [token] and got[1] == []  # type: ignore[union-attr]
    assert pool.replaced >= 1


async def test_a_batch_goes_in_chunks_and_comes_back_in_order(pool: WorkerPool, monkeypatch: pytest.MonkeyPatch,
                                                                ) -> None:
    monkeypatch.setattr(scanning, "CHUNK_BYTES", 100)
    docs = [f"n={n} {mint(RULE)}".encode() if n % 3 else b"x" * 150 for n in range(12)]
    workers = ScanWorkers([RULE], pool, time_limit=30)
    got = await workers.scan(docs)
    assert [spans(g) for g in got] == [spans(s) for s in Scanner([RULE]).scan_batch(docs)]
    assert sum(len(g) for g in got) == 8  # type: ignore[arg-type]


async def test_two_rule_sets_share_one_pool_without_mixing(pool: WorkerPool) -> None:
    other = compile_rule(RuleConfig(id="other", prefix="othr_", charset="base62", length=30))
    a, b = ScanWorkers([RULE], pool, time_limit=30), ScanWorkers([other], pool, time_limit=30)
    token, plain = mint(RULE).encode(), b"othr_" + b"Z" * 30
    got_a, got_b = await asyncio.gather(a.scan([token + b" " + plain]), b.scan([token + b" " + plain]))
    assert [m.rule.id for m in got_a[0]] == ["acme-live"]  # type: ignore[union-attr]
    assert [m.rule.id for m in got_b[0]] == ["other"]  # type: ignore[union-attr]


async def test_the_engine_records_a_document_it_could_not_scan_as_skipped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    secrets(monkeypatch)
    cfg = build(tmp_path, rules=[rule(verifier=None)], notifiers=[])
    cfg = cfg.model_copy(update={"scanner": cfg.scanner.model_copy(update={"time_limit": 0.5})})
    token = mint(RULE)
    slow = dataclasses.replace(doc("", url=f"https://gist.github.com/someone/{token}", key="slow"), content=HOSTILE)
    async with running(cfg) as h:
        added = await h.engine.process([doc(f"TOKEN={token}\n", key="fine"), slow])
        assert added == 1
        assert h.engine.metrics.documents_skipped.labels("github_gists", "scan_time_limit")._value.get() == 1
        assert len(h.store.tokens()) == 1
    assert "not scanned (scan_time_limit)" in caplog.text
    assert token not in caplog.text  # the URL was scrubbed before it was logged
