"""The sandbox on its own event loop in a daemon thread, for sync code and tests."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from crawler.demo.sandbox.server import Sandbox


class SandboxThread:
    """Runs a :class:`Sandbox` on its own event loop in a daemon thread, for sync code."""

    def __init__(self, **kwargs: Any) -> None:
        self.sandbox = Sandbox(**kwargs)
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="leakpatrol-sandbox", daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self._loop, self._stopping = asyncio.get_running_loop(), asyncio.Event()
            try:
                async with self.sandbox:
                    self._ready.set()
                    await self._stopping.wait()
            except BaseException as exc:  # reported to start()
                self._error = exc
                self._ready.set()

        asyncio.run(main())

    def start(self) -> Sandbox:
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None or not self.sandbox.url:
            raise RuntimeError(f"sandbox failed to start: {self._error!r}")
        return self.sandbox

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(15)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
