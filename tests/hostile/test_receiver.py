"""Issue 11, "receiver down by slowloris": 1,100 connections with unfinished headers were never timed
out while signed deliveries failed, asyncio's accept-error loop wrote 400 MB of log, and two receivers
sharing one ``--state`` file ran the hook twice for one delivery. On real loopback servers now:
unfinished heads and trickled bodies are cut off, deliveries go through meanwhile, a flood of the
same server error is logged once per window, and the ``webhook-id`` is claimed before the hook runs."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

import crawler.receiver.partner as partner
from crawler.detect.mint import mint
from crawler.kernel.serve import AppServer, rate_limit_server_logs
from crawler.receiver.app import create_app
from tests.notifiers.helpers import RULE, new_secret
from tests.receiver.test_receiver import event_body, signed


class SlowHook:
    def __init__(self, seconds: float = 0.5) -> None:
        self.seconds, self.calls = seconds, 0

    async def __call__(self, event: dict[str, Any]) -> None:
        self.calls += 1
        await asyncio.sleep(self.seconds)


async def test_two_receivers_on_one_state_file_run_the_hook_once(tmp_path: Path) -> None:
    secret, hook = new_secret(), SlowHook()
    state = tmp_path / "receiver.db"
    apps = [create_app(secret, hook, seen_db=state) for _ in range(2)]
    body = event_body(mint(RULE))
    headers = signed(secret, body, "msg_one_delivery")
    clients = [httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url="http://r") for a in apps]
    try:
        answers = await asyncio.gather(*(c.post("/", content=body, headers=headers) for c in clients))
        again = await clients[1].post("/", content=body, headers=headers)  # the sender's retry of the 503
    finally:
        for c in clients:
            await c.aclose()
    assert hook.calls == 1
    assert sorted(a.status_code for a in answers) == [200, 503]
    busy = next(a for a in answers if a.status_code == 503)
    assert busy.headers["Retry-After"] == "30"
    assert again.status_code == 200 and again.json()["duplicate"] is True


def half_open(url: str, n: int) -> list[socket.socket]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    socks = []
    for _ in range(n):
        s = socket.create_connection((host, int(port)))
        s.sendall(b"POST / HTTP/1.1\r\nHost: receiver\r\nContent-Type: application/json\r\n")  # never ends
        socks.append(s)
    return socks


def closed_by_server(s: socket.socket) -> bool:
    s.settimeout(0.5)
    try:
        return s.recv(1) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False


@pytest.mark.e2e
async def test_a_slowloris_of_unfinished_heads_is_cut_off_and_deliveries_go_through(tmp_path: Path) -> None:
    secret, hook = new_secret(), SlowHook(0.0)
    app = create_app(secret, hook, seen_db=tmp_path / "receiver.db")
    async with AppServer(app, header_timeout=1.0) as server:
        socks = await asyncio.to_thread(half_open, server.url, 300)
        try:
            async with httpx.AsyncClient(base_url=server.url, timeout=5) as client:
                bodies = [event_body(mint(RULE)) for _ in range(5)]
                answers = [await client.post("/", content=b, headers=signed(secret, b, f"msg_{i}"))
                           for i, b in enumerate(bodies)]
            await asyncio.sleep(1.5)
            closed = await asyncio.to_thread(lambda: sum(closed_by_server(s) for s in socks))
        finally:
            for s in socks:
                s.close()
    assert [a.status_code for a in answers] == [200] * 5 and hook.calls == 5
    assert closed == len(socks)


@pytest.mark.e2e
async def test_a_trickled_body_is_answered_408(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(partner, "BODY_TIMEOUT", 1.0)
    app = create_app(new_secret(), SlowHook(0.0), seen_db=tmp_path / "receiver.db")
    async with AppServer(app) as server:
        host, port = server.url.removeprefix("http://").rsplit(":", 1)
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"POST / HTTP/1.1\r\nHost: r\r\nContent-Length: 100\r\n\r\n0123456789")
        await writer.drain()
        started = time.monotonic()
        head = await asyncio.wait_for(reader.readline(), 10)
        took = time.monotonic() - started
        writer.close()
    assert head.startswith(b"HTTP/1.1 408") and took < 5


def test_a_flood_of_one_server_error_is_logged_once_per_window(caplog: pytest.LogCaptureFixture) -> None:
    rate_limit_server_logs()
    loop = asyncio.new_event_loop()
    try:
        for _ in range(1000):  # what asyncio's accept loop reports on EMFILE, once per attempt
            loop.call_exception_handler({"message": "socket.accept() out of system resource",
                                         "exception": OSError(24, "Too many open files")})
    finally:
        loop.close()
    records = [r for r in caplog.records if r.name == "asyncio"]
    assert len(records) == 1 and "out of system resource" in records[0].getMessage()
    assert logging.getLogger("asyncio").filters
