"""Work that can hang (parsing a hostile page), run in worker processes under a hard time limit.

A page of 150,000 nested ``<div>`` s takes selectolax over a minute to parse, and the parse holds the
GIL: on the event loop it froze every other source, ``/healthz`` and SIGTERM. Here it runs in a
small pool of worker processes (``spawn``: no state of the daemon is copied into them); the event loop
only waits on a thread. A call past its time limit raises :class:`WorkTimedOut` and its worker is
killed and replaced, so the next call finds a fresh one. A worker that dies (``MemoryError``, a
crash) raises :class:`WorkFailed` and is replaced the same way.

The function and its arguments cross a pipe: the function must be importable at module level and
the arguments picklable.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import multiprocessing
import multiprocessing.connection
import threading
from collections.abc import Callable
from typing import Any, TypeVar

R = TypeVar("R")
logger = logging.getLogger(__name__)
WORKERS = 2
"""Processes in the shared pool: enough that one slow page does not queue the next source's page."""


class WorkTimedOut(Exception):
    """The call ran past its time limit; its worker was killed and replaced."""

    def __init__(self, what: str, limit: float) -> None:
        super().__init__(f"{what} took longer than {limit:g}s; stopped (the worker was replaced)")
        self.what, self.limit = what, limit


class WorkFailed(Exception):
    """The worker died or raised; ``str`` names the error type only (no content)."""


START_TIMEOUT = 60.0
"""Seconds a new worker may take to start and import its modules (not counted in a call's limit)."""


def _serve(conn: multiprocessing.connection.Connection,
           preload: tuple[str, ...]) -> None:  # pragma: no cover - runs in the child
    for module in preload:
        importlib.import_module(module)
    conn.send("ready")
    while True:
        try:
            fn, args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            conn.send((True, fn(*args)))
        except Exception as exc:  # the type name travels back; the message may hold content
            conn.send((False, type(exc).__name__))


class _Worker:
    def __init__(self, preload: tuple[str, ...]) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child, preload), daemon=True, name="leakpatrol-worker")
        self.process.start()
        child.close()
        try:  # started and its modules imported: only then does a call's time limit run
            if not self.conn.poll(START_TIMEOUT) or self.conn.recv() != "ready":
                raise WorkFailed(f"a worker process did not start within {START_TIMEOUT:g}s")
        except (EOFError, OSError):
            self.kill()
            raise WorkFailed("a worker process died while starting") from None
        except WorkFailed:
            self.kill()
            raise

    def call(self, fn: Callable[..., Any], args: tuple[Any, ...], limit: float) -> tuple[bool, Any]:
        self.conn.send((fn, args))
        if not self.conn.poll(limit):
            raise TimeoutError
        ok, value = self.conn.recv()
        return bool(ok), value

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()
            self.process.join(5)
        with contextlib.suppress(Exception):
            self.conn.close()


class WorkerPool:
    """At most ``size`` worker processes, started when first needed."""

    def __init__(self, size: int = WORKERS, preload: tuple[str, ...] = ()) -> None:
        self.size, self.preload = size, preload
        """``preload``: modules a worker imports before it is ready (their import time is not a call's)."""
        self._idle: list[_Worker] = []
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self.replaced = 0
        """Workers killed (time limit) or lost (crash) and replaced, since the pool was made."""

    def _take(self) -> _Worker:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.process.is_alive():
                    return worker
                logger.warning("a worker process died while idle (exit code %s); replaced", worker.process.exitcode)
                worker.kill()
                self.replaced += 1
        return _Worker(self.preload)

    def _call(self, fn: Callable[..., R], args: tuple[Any, ...], limit: float, what: str) -> R:
        with self._slots:
            worker = self._take()
            try:
                ok, value = worker.call(fn, args, limit)
            except TimeoutError:
                worker.kill()
                self.replaced += 1
                raise WorkTimedOut(what, limit) from None
            except (EOFError, OSError, BrokenPipeError):
                worker.kill()
                self.replaced += 1
                raise WorkFailed(f"{what}: the worker process died (exit code {worker.process.exitcode})") from None
            with self._lock:
                self._idle.append(worker)
            if not ok:
                raise WorkFailed(f"{what}: {value}")
            return value  # type: ignore[no-any-return]

    async def run(self, fn: Callable[..., R], *args: Any, limit: float, what: str) -> R:
        """``fn(*args)`` in a worker process, at most ``limit`` seconds (then :class:`WorkTimedOut`)."""
        return await asyncio.to_thread(self._call, fn, args, limit, what)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()


_shared: WorkerPool | None = None


def shared_pool() -> WorkerPool:
    """The process-wide pool (workers are only started on the first call)."""
    global _shared
    if _shared is None:
        _shared = WorkerPool()
    return _shared
