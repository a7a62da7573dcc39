"""Store calls from the daemon's event loop, run in a small thread pool.

Every :class:`~crawler.store.database.Store` method is synchronous (SQLAlchemy sessions), which suits
the CLI. The daemon awaits them through :class:`Offload`, so a commit (or a PostgreSQL round trip)
never stalls the other sources, ``/healthz`` or the delivery job. Chosen over SQLAlchemy's asyncio
engine by measurement (``bench/store_io.py``, README "Measured", 2026-11-30): the same store writes ran
3.1× faster on SQLite than through aiosqlite and 1.3× faster on PostgreSQL than psycopg's async mode,
with the same few-millisecond loop lag; and the store keeps one code path for the CLI and the daemon.

A cancelled caller does not cancel the call: the thread finishes its transaction (commit or
rollback), so a stop never leaves a write half done.

A call that fails because its pooled connection had died (PostgreSQL restarted, a proxy dropped it)
runs once more on a fresh connection: the dead connection's transaction never took effect, and the
store's writes are safe to repeat (conflicts are skipped, claims and leases are re-taken by their owner).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from sqlalchemy.exc import DBAPIError

logger = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

WORKERS = 4
"""Threads for store calls: SQLite serialises writers anyway; PostgreSQL overlaps round trips."""


def _reconnecting(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    try:
        return fn(*args, **kwargs)
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        logger.warning("store: the database connection was lost (%s); retrying on a new one", type(exc.orig).__name__)
        return fn(*args, **kwargs)


class Offload:
    """``await offload(store.record, token=…)`` runs the call in the pool and returns its result."""

    def __init__(self, workers: int = WORKERS) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="leakpatrol-store")

    async def __call__(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(_reconnecting, fn, *args, **kwargs))

    def close(self) -> None:
        """Wait for running calls, then stop the threads."""
        self._pool.shutdown(wait=True)
