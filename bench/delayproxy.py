"""A loopback TCP proxy that delays every byte by a fixed time in each direction (a far database).

Each direction is a queue of (due time, chunk): a chunk read at ``t`` is written at ``t + delay``,
in order, so the added latency is exactly ``delay`` each way and bandwidth is not throttled.
Used by ``bench/latency.py --store postgresql`` to put PostgreSQL 5 ms away from the daemon.
"""

from __future__ import annotations

import asyncio
import contextlib


class DelayProxy:
    """``async with DelayProxy("127.0.0.1", 5432, delay=0.005) as port:`` listens on 127.0.0.1:port."""

    def __init__(self, host: str, port: int, *, delay: float) -> None:
        self.target, self.delay = (host, port), delay
        self.server: asyncio.Server | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self.connections = 0

    async def __aenter__(self) -> int:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.server.wait_closed(), 2)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        for src, dst in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(src, dst))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _pipe(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, chunk = await queue.get()
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not chunk:
                    dst.close()
                    return
                dst.write(chunk)
                await dst.drain()

        sender = asyncio.create_task(deliver())
        try:
            while True:
                chunk = await src.read(65536)
                queue.put_nowait((loop.time() + self.delay, chunk))
                if not chunk:
                    break
            await sender
        except (ConnectionError, asyncio.CancelledError):
            sender.cancel()
        finally:
            with contextlib.suppress(Exception):
                dst.close()
