"""Store calls made by the engine run in its thread pool: a slow database never stalls the loop."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import respx

from tests.pipeline.helpers import Issuer, build, doc, endpoint, running, secrets
from tests.store.helpers import new_token

SLOW = 0.3


async def test_a_slow_store_write_does_not_block_the_event_loop(
        tmp_path: Path, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets(monkeypatch)
    issuer, hook = Issuer(no_network), endpoint(no_network)
    token = new_token()
    issuer.live.add(token)
    threads: list[str] = []
    async with running(build(tmp_path)) as h:
        real_record = h.store.record_many

        def slow_record(*args: Any, **kw: Any) -> Any:
            threads.append(threading.current_thread().name)
            time.sleep(SLOW)  # a database that takes its time (lock wait, far PostgreSQL)
            return real_record(*args, **kw)

        monkeypatch.setattr(h.store, "record_many", slow_record)
        ticks: list[float] = []

        async def ticker() -> None:
            while True:
                ticks.append(time.perf_counter())
                await asyncio.sleep(0.01)

        tick = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        before = len(ticks)
        added = await h.engine.process([doc(f"KEY={token}\n")])
        during = len(ticks) - before
        tick.cancel()
    assert added == 1 and len(hook.requests) == 1
    assert threads and all(name.startswith("leakpatrol-store") for name in threads)
    # On the loop, a 0.3 s write would have let the ticker run once; in the pool it keeps ticking.
    assert during >= 10, f"the loop ran only {during} ticks during a {SLOW}s store write"
