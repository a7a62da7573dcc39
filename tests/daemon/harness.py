"""What the daemon's end-to-end tests share: a recording receiver, the daemon as a subprocess, waits.

The reference receiver drops a repeated ``webhook-id`` before its hook runs, so "notified twice"
is only visible on the wire: :class:`RecordingReceiver` wraps the reference app in an ASGI layer
that records every arrival (time, ``webhook-id``, body) before the app sees it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from crawler.demo.sandbox import Published, Sandbox
from crawler.kernel.serve import AppServer
from crawler.receiver.app import create_app

SECRET_ENV = "LEAKPATROL_TEST_WEBHOOK_SECRET"
CORE_SOURCES = ("github_events", "github_gists", "gitlab_snippets", "pastebin", "paste_sites")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


@dataclass(frozen=True)
class Arrival:
    time: float
    webhook_id: str
    event: dict[str, Any]

    @property
    def token(self) -> str:
        return str(self.event.get("data", {}).get("token", ""))


@dataclass
class RecordingReceiver:
    """The reference receiver on a loopback port, recording raw arrivals first."""

    secret: str
    folder: Path
    arrivals: list[Arrival] = field(default_factory=list)
    hooked: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def _wrap(self, app: Any) -> Any:
        async def recording(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http" or scope["method"] != "POST":
                await app(scope, receive, send)
                return
            chunks, more = [], True
            while more:
                message = await receive()
                chunks.append(message.get("body", b""))
                more = message.get("more_body", False)
            body = b"".join(chunks)
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            try:
                event = json.loads(body)
            except ValueError:
                event = {}
            self.arrivals.append(Arrival(time.time(), headers.get("webhook-id", ""), event))
            replayed = False

            async def replay() -> dict[str, Any]:
                nonlocal replayed
                if replayed:
                    return await receive()
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}

            await app(scope, replay, send)
        return recording

    async def __aenter__(self) -> RecordingReceiver:
        async def hook(event: dict[str, Any]) -> None:
            self.hooked.append(event)

        self.folder.mkdir(parents=True, exist_ok=True)
        app = create_app(self.secret, hook, seen_db=self.folder / "receiver.db")
        self.server = AppServer(self._wrap(app))
        self.url = await self.server.start() + "/"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.wait_for(self.server.stop(), 10)

    def ids_by_token(self) -> dict[str, set[str]]:
        """token → the distinct ``webhook-id``s it arrived under (``token.exposed`` only)."""
        out: dict[str, set[str]] = defaultdict(set)
        for a in self.arrivals:
            if a.event.get("type") == "token.exposed":
                out[a.token].add(a.webhook_id)
        return dict(out)

    def first_arrival(self, token: str) -> float | None:
        times = [a.time for a in self.arrivals if a.token == token]
        return min(times) if times else None


@dataclass
class DaemonProcess:
    """``python -m crawler run -c CFG`` as a subprocess, stderr to a file."""

    config: Path
    env: dict[str, str]
    log: Path
    log_format: str = "human"
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> DaemonProcess:
        args = [sys.executable, "-m", "crawler", "--log-format", self.log_format, "run", "-c", str(self.config)]
        with self.log.open("ab") as err:
            self.proc = subprocess.Popen(args, env=self.env, stdout=subprocess.DEVNULL, stderr=err,
                                         cwd=self.config.parent)
        return self

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    async def wait_exit(self, timeout: float) -> int | None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None:
                return code
            await asyncio.sleep(0.05)
        return None

    async def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            await self.wait_exit(10)

    def log_text(self) -> str:
        return self.log.read_text("utf-8", "replace") if self.log.exists() else ""


@dataclass
class Setup:
    """A sandbox, a recording receiver and a config for the daemon, in one temporary folder."""

    sb: Sandbox
    receiver: RecordingReceiver
    folder: Path
    config: Path
    env: dict[str, str]
    listen_port: int
    log_count: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.listen_port}"

    def daemon(self, log_format: str = "human") -> DaemonProcess:
        self.log_count += 1
        return DaemonProcess(self.config, self.env, self.folder / f"daemon{self.log_count}.log", log_format).start()

    async def get(self, path: str) -> httpx.Response:
        async with httpx.AsyncClient(timeout=5) as client:
            return await client.get(self.base + path)

    async def up(self) -> bool:
        """The daemon's own server answers (``/healthz`` is 200 or 503)."""
        try:
            return (await self.get("/healthz")).status_code in (200, 503)
        except httpx.HTTPError:
            return False


def make_setup(sb: Sandbox, receiver: RecordingReceiver, folder: Path, *, interval: str = "1s",
               sources: Iterable[str] = CORE_SOURCES, server_extra: str = "", **kw: Any) -> Setup:
    port = free_port()
    config = folder / "leakpatrol.toml"
    sb.write_config(config, receiver.url, SECRET_ENV, folder / "data", interval, sources=tuple(sources),
                    listen=f"127.0.0.1:{port}", **kw)
    if server_extra:
        text = config.read_text("utf-8").replace("[server]\n", "[server]\n" + server_extra + "\n", 1)
        config.write_text(text, "utf-8")
    env = {**os.environ, **sb.environment(), SECRET_ENV: receiver.secret}
    env.pop("LEAKPATROL_CONFIG", None)
    return Setup(sb, receiver, folder, config, env, port)


def publish(sb: Sandbox, source: str, text: str, n: int = 0) -> Published:
    """Put ``text`` where ``source`` will find it."""
    return sb.publish_to(source, text, n)


def decoy(token: str) -> str:
    """The same token with a broken checksum: discarded offline."""
    return token[:-1] + ("A" if token[-1] != "A" else "B")


async def wait_for(check: Callable[[], bool | Awaitable[bool]], timeout: float, what: str,
                   step: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(step)


async def metrics(setup: Setup) -> dict[str, list[tuple[dict[str, str], float]]]:
    """``/metrics`` parsed with prometheus-client's own parser: sample name → (labels, value)."""
    from prometheus_client.parser import text_string_to_metric_families

    resp = await setup.get("/metrics")
    assert resp.status_code == 200
    out: dict[str, list[tuple[dict[str, str], float]]] = defaultdict(list)
    for family in text_string_to_metric_families(resp.text):
        for s in family.samples:
            out[s.name].append((dict(s.labels), s.value))
    return dict(out)


def total(samples: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    return sum(v for lab, v in samples.get(name, []) if all(lab.get(k) == x for k, x in labels.items()))
