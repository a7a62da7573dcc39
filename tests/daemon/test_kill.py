"""SIGKILL twice during a run, then restart: every live token arrives, under one ``webhook-id``."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from crawler.demo.sandbox import Sandbox
from tests.daemon.harness import CORE_SOURCES, RecordingReceiver, Setup, make_setup, publish, wait_for

pytestmark = pytest.mark.e2e


def _plant(setup: Setup, live: list[str], round_: int) -> None:
    for i, source in enumerate(CORE_SOURCES):
        tok, dead = setup.sb.mint(), setup.sb.mint(live=False)
        live.append(tok)
        publish(setup.sb, source, f"KEY={tok}\nOLD={dead}\n", round_ * 10 + i)


async def test_sigkill_twice_loses_nothing_and_notifies_nothing_twice(
        sb: Sandbox, receiver: RecordingReceiver, tmp_path: Path) -> None:
    setup = make_setup(sb, receiver, tmp_path)
    live: list[str] = []
    daemon = setup.daemon()
    try:
        await wait_for(setup.up, 20, "the first daemon")
        _plant(setup, live, 0)
        # Kill 1: the moment the first webhook of the round arrives (deliveries in flight).
        await wait_for(lambda: bool(receiver.arrivals), 30, "a first delivery", step=0.01)
        daemon.signal(signal.SIGKILL)
        assert await daemon.wait_exit(10) == -signal.SIGKILL

        daemon = setup.daemon()
        await wait_for(setup.up, 20, "the second daemon")
        before = len(receiver.arrivals)
        _plant(setup, live, 1)
        # Kill 2: shortly after publishing, while the sources fetch and scan the new documents.
        await asyncio.sleep(0.6)
        daemon.signal(signal.SIGKILL)
        assert await daemon.wait_exit(10) == -signal.SIGKILL
        assert len(receiver.arrivals) < before + 5, "kill 2 came too late to interrupt anything"

        daemon = setup.daemon()
        await wait_for(setup.up, 20, "the third daemon")
        _plant(setup, live, 2)
        await wait_for(lambda: set(live) <= set(receiver.ids_by_token()), 60, "every live token at the receiver")
        await asyncio.sleep(2.5)  # a late duplicate would come from a delivery retry (≥ 1 s) or a re-poll

        ids = receiver.ids_by_token()
        assert set(ids) == set(live), "only live tokens are delivered"
        doubled = {tok[:14]: n for tok, n in ((t, len(v)) for t, v in ids.items()) if n != 1}
        assert not doubled, f"tokens delivered under more than one webhook-id: {doubled}"
        daemon.signal(signal.SIGTERM)
        assert await daemon.wait_exit(10) == 0
    finally:
        await daemon.kill()
