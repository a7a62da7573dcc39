"""Shared helpers of ``bench/latency.py`` and ``bench/throughput.py``.

The sandbox and the reference receiver run in the bench's own process (one asyncio loop); the
daemon runs as the real ``python -m crawler run`` subprocess, as an operator would start it.
"""

from __future__ import annotations

import asyncio
import base64
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from crawler.demo.sandbox import Published, Sandbox
from crawler.kernel.serve import AppServer
from crawler.receiver.app import create_app
from sources.fakes import demo_kinds

SECRET_ENV = "LEAKPATROL_BENCH_WEBHOOK_SECRET"
SOURCES = demo_kinds()
"""Every registered source quick enough for 1 s polling (the demo's; code search is left out)."""


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo where there is one)."""
    cpu = platform.processor() or "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return cpu


def machine() -> str:
    """Date, CPU model, core count and Python version, for the figures' header."""
    cpu = cpu_model()
    return (f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\nmachine: {cpu}, nproc {os.cpu_count()}, "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.4999)))
    return ordered[rank - 1]


SUMMARY_HEADER = (f"{'source':<18} {'n':>4} {'p50 s':>7} {'p90 s':>7} {'p99 s':>7} {'mean s':>7} {'max s':>7}"
                  "   (every percentile over the row's n samples; p99 only where n >= 100)")


def summary_row(name: str, values: Sequence[float]) -> str:
    if not values:
        return f"{name:<18} {0:>4}"
    # A p99 of fewer than 100 samples would only be the maximum under another name: print "-" then.
    p99 = f"{percentile(values, 99):>7.2f}" if len(values) >= 100 else f"{'-':>7}"
    return (f"{name:<18} {len(values):>4} {percentile(values, 50):>7.2f} {percentile(values, 90):>7.2f} "
            f"{p99} {statistics.fmean(values):>7.2f} {max(values):>7.2f}")


class Receiver:
    """The reference receiver on loopback; records the first arrival time per token."""

    def __init__(self, folder: Path) -> None:
        self.secret = "whsec_" + base64.b64encode(os.urandom(24)).decode()
        self.arrivals: dict[str, float] = {}
        self.folder = folder
        self.url = ""

    async def __aenter__(self) -> Receiver:
        def hook(event: dict[str, Any]) -> None:
            token = str(event.get("data", {}).get("token", ""))
            self.arrivals.setdefault(token, time.time())

        app = create_app(self.secret, hook, seen_db=self.folder / "receiver.db")
        self.server = AppServer(app)
        self.url = await self.server.start() + "/"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.server.stop()


class Daemon:
    """``python -m crawler run`` against a sandbox config, with its ``/metrics`` and RSS."""

    def __init__(self, sb: Sandbox, receiver: Receiver, folder: Path, interval: str = "1s",
                 sources: Sequence[str] = SOURCES, **kw: Any) -> None:
        self.port = free_port()
        self.folder = folder
        self.config = sb.write_config(folder / "leakpatrol.toml", receiver.url, SECRET_ENV, folder / "data",
                                      interval, sources=tuple(sources), listen=f"127.0.0.1:{self.port}", **kw)
        self.env = {**os.environ, **sb.environment(), SECRET_ENV: receiver.secret}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, *args: str) -> Daemon:
        log = (self.folder / "daemon.log").open("ab")
        cmd = [sys.executable, "-m", "crawler", *args, "run", "-c", str(self.config)]
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=subprocess.DEVNULL, stderr=log)
        return self

    async def get(self, path: str) -> httpx.Response:
        async with httpx.AsyncClient(timeout=5) as client:
            return await client.get(f"http://127.0.0.1:{self.port}{path}")

    async def ready(self, sources: int, timeout: float = 30) -> None:
        """Wait until every source has completed a successful poll."""

        async def polled() -> bool:
            try:
                body = (await self.get("/healthz")).json()
            except (httpx.HTTPError, ValueError):
                return False
            return sum(1 for s in body["sources"].values() if s.get("last_success_at")) >= sources
        await wait_for(polled, timeout, "the daemon's first polls")

    async def metric(self, name: str) -> float:
        from prometheus_client.parser import text_string_to_metric_families

        text = (await self.get("/metrics")).text
        return sum(s.value for f in text_string_to_metric_families(text) for s in f.samples if s.name == name)

    def rss_mb(self) -> tuple[float, float]:
        """(current RSS, peak RSS) of the daemon in MB, from /proc/PID/status."""
        assert self.proc is not None
        fields = {}
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            fields[key] = value.strip()
        return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        self.proc.terminate()
        try:
            return self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(5)


def rss(pid: int) -> int:
    """Resident memory of process ``pid`` and its children (the daemon's worker processes), bytes."""
    import psutil

    try:
        proc = psutil.Process(pid)
        return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)])
    except psutil.Error:
        return 0


def publish(sb: Sandbox, source: str, text: str, n: int = 0) -> Published:
    return sb.publish_to(source, text, n, org="bench-org")


async def wait_for(check: Callable[[], Awaitable[bool] | bool], timeout: float, what: str,
                   step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return True
        await asyncio.sleep(step)
    print(f"warning: timed out after {timeout:.0f}s waiting for {what}", file=sys.stderr)
    return False
