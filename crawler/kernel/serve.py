"""The one way leakpatrol serves an ASGI app: uvicorn on the running event loop.

Used by the daemon's ``/healthz`` + ``/metrics``, the reference receiver, the demo and the loopback
sandbox. :class:`AppServer` binds first (so port 0 gives a real port before anything is published),
sets ``TCP_NODELAY`` on accepted connections, installs no signal handlers (the embedding process owns
SIGTERM/SIGINT) and configures no logging (only the CLI does).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import uvicorn
from starlette.types import ASGIApp


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:8787``, ``:8787`` for 127.0.0.1) as ``(host, port)``."""
    host, sep, port = value.strip().rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{value!r} is not HOST:PORT")
    return host.strip("[]") or "127.0.0.1", int(port)


class _Server(uvicorn.Server):
    """uvicorn without signal handlers unless asked for."""

    handle_signals = False

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if self.handle_signals:
            with super().capture_signals():
                yield
        else:
            yield


class AppServer:
    """``async with AppServer(app) as srv:`` serves ``app`` on ``srv.url`` until the block ends."""

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0, *, handle_signals: bool = False,
                 **uvicorn_options: Any) -> None:
        self.app, self.host, self.port = app, host, port
        options: dict[str, Any] = {"log_config": None, "lifespan": "off", "access_log": False,
                                   "server_header": False, "timeout_graceful_shutdown": 2}
        options.update(uvicorn_options)
        self._server = _Server(uvicorn.Config(app, **options))
        self._server.handle_signals = handle_signals
        self._task: asyncio.Task[None] | None = None
        self._sock: socket.socket | None = None
        self.url = ""

    def bind(self) -> str:
        """Bind the listening socket now (port 0 becomes a real port); return the base URL."""
        if self._sock is None:
            self._sock = self._bind()
        return self.url

    def _bind(self) -> socket.socket:
        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted sockets only when the
        # listening socket says TCP, and without it every response waits ~40 ms for a delayed ACK.
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"http://{host}:{self.port}"
        return sock

    async def start(self) -> str:
        """Bind and start serving; return the base URL once the server accepts connections."""
        self.bind()
        assert self._sock is not None
        self._task = asyncio.create_task(self._server.serve(sockets=[self._sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError(f"server on {self.url} stopped during startup")
            await asyncio.sleep(0.005)
        return self.url

    async def stop(self) -> None:
        """Stop accepting, let in-flight requests finish (up to the graceful timeout)."""
        if self._task is None:
            return
        self._server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    async def wait(self) -> None:
        """Serve until the server stops by itself (with ``handle_signals``: until SIGINT/SIGTERM)."""
        if self._task is not None:
            await self._task

    async def __aenter__(self) -> AppServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


class LoopThread:
    """Enters an async context manager on its own event loop in a daemon thread and keeps it open
    until :meth:`stop`, for synchronous code (tests, tools): the sandbox, a receiver, any server."""

    def __init__(self, target: AbstractAsyncContextManager[Any], name: str = "leakpatrol-loop") -> None:
        self.target = target
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._entered = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self._loop, self._stopping = asyncio.get_running_loop(), asyncio.Event()
            try:
                async with self.target:
                    self._entered = True
                    self._ready.set()
                    await self._stopping.wait()
            except BaseException as exc:  # reported to start()
                self._error = exc
                self._ready.set()

        asyncio.run(main())

    def start(self, timeout: float = 30.0) -> None:
        self._thread.start()
        self._ready.wait(timeout)
        if self._error is not None or not self._entered:
            raise RuntimeError(f"{self._thread.name} failed to start: {self._error!r}")

    def stop(self, timeout: float = 15.0) -> None:
        if self._loop is not None and self._stopping is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(timeout)


class ServerThread(LoopThread):
    """An :class:`AppServer` in a :class:`LoopThread` (``with ServerThread(app) as url:``)."""

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0, **options: Any) -> None:
        self.server = AppServer(app, host, port, **options)
        super().__init__(self.server, name="leakpatrol-server")

    @property
    def url(self) -> str:
        return self.server.url

    def __enter__(self) -> str:
        self.start()
        return self.server.url

    def __exit__(self, *exc: object) -> None:
        self.stop()
