"""The one way leakpatrol serves an ASGI app: uvicorn on the running event loop.

Used by the daemon's ``/healthz`` + ``/metrics``, the reference receiver, the demo and the loopback
sandbox. :class:`AppServer` binds first (so port 0 gives a real port before anything is published),
sets ``TCP_NODELAY`` on accepted connections, installs no signal handlers (the embedding process owns
SIGTERM/SIGINT) and configures no logging (only the CLI does).

Hostile clients: a connection must send a request's headers within ``header_timeout`` seconds of
opening (or of the request's first byte) or it is closed, so a slowloris of unfinished headers holds
nothing for long; at most ``max_connections`` connections or requests at once (uvicorn answers 503
past it); and the ``asyncio`` and ``uvicorn.error`` loggers are rate-limited (:class:`RateLimitFilter`):
an accept loop out of file descriptors once wrote 400 MB of log in 75 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEADER_TIMEOUT = 10.0
"""Seconds a connection has to send a complete request head."""
MAX_CONNECTIONS = 1000
"""Connections (or requests in progress) served at once; past it uvicorn answers 503."""
LOG_EVERY = 10.0
"""The same message of a rate-limited logger is written at most once per this many seconds."""


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:8787``, ``:8787`` for 127.0.0.1) as ``(host, port)``."""
    host, sep, port = value.strip().rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{value!r} is not HOST:PORT")
    return host.strip("[]") or "127.0.0.1", int(port)


class RateLimitFilter(logging.Filter):
    """Lets one record per message template through every ``every`` seconds, and says how many it held
    back when the next one passes."""

    def __init__(self, every: float = LOG_EVERY) -> None:
        super().__init__()
        self.every = every
        self._last: dict[str, tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = f"{record.levelno}:{record.msg}"
        now = time.monotonic()
        last, held = self._last.get(key, (float("-inf"), 0))
        if now - last < self.every:
            self._last[key] = (last, held + 1)
            return False
        self._last[key] = (now, 0)
        if held:
            record.msg = f"{record.msg} ({held} more like this in the last {self.every:g}s not logged)"
        return True


def rate_limit_server_logs() -> None:
    """Install :class:`RateLimitFilter` on the loggers a flood of bad connections writes to (once)."""
    for name in ("asyncio", "uvicorn.error"):
        log = logging.getLogger(name)
        if not any(isinstance(f, RateLimitFilter) for f in log.filters):
            log.addFilter(RateLimitFilter())


class _HeadTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing a connection whose request head is late."""

    header_timeout = HEADER_TIMEOUT
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.header_timeout, self._head_late)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_late(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self.transport.close()


def head_timeout_protocol(seconds: float) -> type[HttpToolsProtocol]:
    return type("HeadTimeoutProtocol", (_HeadTimeoutProtocol,), {"header_timeout": seconds})


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
                 header_timeout: float = HEADER_TIMEOUT, max_connections: int = MAX_CONNECTIONS,
                 **uvicorn_options: Any) -> None:
        self.app, self.host, self.port = app, host, port
        options: dict[str, Any] = {"log_config": None, "lifespan": "off", "access_log": False,
                                   "server_header": False, "timeout_graceful_shutdown": 2,
                                   "http": head_timeout_protocol(header_timeout),
                                   "limit_concurrency": max_connections}
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
        rate_limit_server_logs()
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
