"""``sources.base.prefetched``: results come out in the order of the items (so batches and cursors
stay oldest-first) while later fetches already run; a failure surfaces at its turn and cancels the
fetches ahead of it."""

from __future__ import annotations

import asyncio

import pytest

from sources.base import prefetched


async def test_results_are_in_item_order_while_fetches_overlap() -> None:
    started: list[int] = []
    gate = asyncio.Event()

    async def fetch(n: int) -> int:
        started.append(n)
        if n == 0:
            await gate.wait()  # the first item is the slowest
        return n * 10

    out = []
    gen = prefetched(range(6), fetch, window=3)
    task = asyncio.ensure_future(gen.__anext__())
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert started == [0, 1, 2]  # three in flight before the consumer got anything
    gate.set()
    out.append(await task)
    out += [pair async for pair in gen]
    assert out == [(n, n * 10) for n in range(6)]


async def test_a_failure_raises_at_its_turn_and_cancels_what_is_ahead() -> None:
    cancelled: list[int] = []

    async def fetch(n: int) -> int:
        if n == 2:
            raise RuntimeError("boom")
        try:
            await asyncio.sleep(0 if n < 2 else 10)
        except asyncio.CancelledError:
            cancelled.append(n)
            raise
        return n

    got = []
    with pytest.raises(RuntimeError, match="boom"):
        async for n, _ in prefetched(range(8), fetch, window=4):
            got.append(n)
    assert got == [0, 1]  # nothing after the failed item was handed out
    assert cancelled and all(n > 2 for n in cancelled)


async def test_an_empty_input_yields_nothing() -> None:
    async def fetch(n: int) -> int:
        raise AssertionError("never called")

    assert [p async for p in prefetched([], fetch, window=8)] == []
