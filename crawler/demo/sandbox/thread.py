"""The sandbox on its own event loop in a daemon thread, for sync code and tests."""

from __future__ import annotations

from typing import Any

from crawler.demo.sandbox.server import Sandbox
from crawler.kernel.serve import LoopThread


class SandboxThread(LoopThread):
    """Runs a :class:`Sandbox` on its own event loop in a daemon thread (``with SandboxThread() as sb:``);
    publishing into it from the calling thread is thread-safe."""

    def __init__(self, **kwargs: Any) -> None:
        self.sandbox = Sandbox(**kwargs)
        super().__init__(self.sandbox, name="leakpatrol-sandbox")

    def __enter__(self) -> Sandbox:
        self.start()
        return self.sandbox

    def __exit__(self, *exc: object) -> None:
        self.stop()
