"""Issue 11 on a running daemon: two hostile paste sites attack while the benign sources keep
delivering. Their archive pages answer, poll after poll: 150,000 nested ``<div>`` s (a minute of
parsing: it once froze the event loop, ``/healthz`` and SIGTERM) then a 40 MB page; and 10,000
links, a redirect loop, a body trickled byte by byte, ``Retry-After: 1e20``. Meanwhile ≥ 90 % of the
benign sources' tokens reach the receiver within 5 s, ``/healthz`` answers, the daemon and its
workers stay under 500 MB of RSS, and SIGTERM stops it cleanly."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import psutil
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from crawler.demo.sandbox import Sandbox
from crawler.kernel.serve import AppServer
from tests.daemon.harness import RecordingReceiver, make_setup, publish, wait_for

pytestmark = pytest.mark.e2e
BENIGN = ("github_events", "github_gists", "gitlab_snippets", "paste_sites")
WITHIN, SHARE, RSS_LIMIT = 5.0, 0.9, 500 * 1024 * 1024
DEPTH = 150_000
HTML = {"Content-Type": "text/html"}


class HostilePasteSite:
    """One archive page, a different attack on each request; raw pastes answer a line of text."""

    def __init__(self, *attacks: str) -> None:
        self.requests: list[str] = []
        self.raw = 0
        self.attacks = iter([getattr(self, a) for a in attacks])
        self.server = AppServer(Starlette(routes=[Route("/lists", self.lists), Route("/raw/{key}", self.paste)]))

    async def lists(self, request: Request) -> Response:
        attack = next(self.attacks, self.retry_after)
        self.requests.append(attack.__name__)
        return attack()

    async def paste(self, request: Request) -> Response:
        self.raw += 1
        return Response("nothing here\n", media_type="text/plain")

    def nested(self) -> Response:
        return Response(b"<html><body>" + b"<div>" * DEPTH + b'<a href="/view/abc">x</a>' + b"</div>" * DEPTH,
                        headers=HTML)

    def huge(self) -> Response:
        return Response(b"<html><body>" + b"<p>x</p>" * (40 * 1024 * 1024 // 8), headers=HTML)

    def trickle(self) -> Response:
        async def drip() -> AsyncIterator[bytes]:
            while True:
                yield b" "
                await asyncio.sleep(0.5)
        return StreamingResponse(drip(), headers=HTML)

    def links(self) -> Response:
        page = "".join(f'<a href="/view/k{i:05d}">p</a>' for i in range(10_000))
        return Response(f"<html><body>{page}</body></html>", headers=HTML)

    def loop(self) -> Response:
        return Response(status_code=302, headers={"Location": "/lists"})

    def retry_after(self) -> Response:
        return Response(status_code=429, headers={"Retry-After": "1e20"})


def rss(pid: int) -> int:
    """The daemon's resident memory plus its worker processes'."""
    try:
        proc = psutil.Process(pid)
        return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)])
    except psutil.Error:
        return 0


async def test_a_hostile_paste_site_never_freezes_silences_or_bloats_the_daemon(
        sb: Sandbox, receiver: RecordingReceiver, tmp_path: Path) -> None:
    heavy = HostilePasteSite("nested", "huge")
    stalling = HostilePasteSite("links", "loop", "trickle", "retry_after")
    async with heavy.server, stalling.server:
        setup = make_setup(sb, receiver, tmp_path, sources=(*BENIGN, "pastebin"))
        with setup.config.open("a", encoding="utf-8") as f:
            for n, site in enumerate((heavy, stalling)):
                f.write(f"""
[[sources.paste_sites]]
name = "hostile-{n}"
archive_url = "{site.server.url}/lists"
link_selector = "a"
raw_url = "{site.server.url}/raw/{{key}}"
respect_robots = false
interval = "1s"
parse_time_limit = "3s"
""")
            f.write('\n[http]\nfetch_deadline = "4s"\n')
        daemon = setup.daemon()
        published: dict[str, float] = {}
        peak, health_times = 0, []
        try:
            await wait_for(setup.up, 30, "the daemon")
            assert daemon.proc is not None
            for n in range(8):  # tokens spread over the attack
                for i, source in enumerate(BENIGN):
                    tok = sb.mint()
                    published[tok] = publish(sb, source, f"TOKEN={tok}\n", n * 10 + i).published_at
                for _ in range(8):
                    peak = max(peak, rss(daemon.proc.pid))
                    started = time.monotonic()
                    async with httpx.AsyncClient(timeout=5) as client:
                        answer = await client.get(setup.base + "/healthz")
                    health_times.append(time.monotonic() - started)
                    assert answer.status_code in (200, 503)
                    await asyncio.sleep(0.25)
            await wait_for(lambda: set(published) <= set(receiver.ids_by_token()), 30, "the benign tokens")
            latency = {tok: (receiver.first_arrival(tok) or float("inf")) - at for tok, at in published.items()}
            on_time = sum(v <= WITHIN for v in latency.values())
            assert on_time >= SHARE * len(published), (
                f"{on_time}/{len(published)} benign tokens within {WITHIN}s; slowest "
                f"{sorted(latency.values())[-5:]}")
            assert heavy.requests[:2] == ["nested", "huge"], heavy.requests
            assert stalling.requests[:2] == ["links", "loop"], stalling.requests
            assert stalling.raw == 1000  # max_links of the 10,000, each fetched once
            assert max(health_times) < 5.0
            assert peak <= RSS_LIMIT, f"peak RSS {peak / 2**20:.0f} MB"
            daemon.signal(signal.SIGTERM)
            assert await daemon.wait_exit(15) == 0
            log = daemon.log_text()
            assert "took longer than 3s" in log and "max_archive_bytes" in log
        finally:
            await daemon.kill()
