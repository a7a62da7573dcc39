"""Issue 11 on a running daemon: two hostile paste sites attack while the benign sources keep
delivering. Their archive pages answer, poll after poll: 150,000 nested ``<div>`` s (a minute of
parsing: it once froze the event loop, ``/healthz`` and SIGTERM) then a 40 MB page; and 10,000
links, a redirect loop, a body trickled byte by byte, ``Retry-After: 1e20``; a third serves one
paste of 9.5 MiB of token look-alikes (seconds of scanning: its worker is stopped after 1 s). Meanwhile ≥ 90 % of the
benign sources' tokens reach the receiver within 5 s, ``/healthz`` answers, the daemon and its
workers stay under 500 MB of RSS, and SIGTERM stops it cleanly."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import httpx
import pytest

from bench.common import rss
from crawler.demo.sandbox import Sandbox
from sources.fakes.hostile import HostilePasteSite
from tests.daemon.harness import RecordingReceiver, make_setup, publish, wait_for

pytestmark = pytest.mark.e2e
BENIGN = ("github_events", "github_gists", "gitlab_snippets", "paste_sites")
WITHIN, SHARE, RSS_LIMIT = 5.0, 0.9, 500 * 1024 * 1024


async def test_a_hostile_paste_site_never_freezes_silences_or_bloats_the_daemon(
        sb: Sandbox, receiver: RecordingReceiver, tmp_path: Path) -> None:
    async with HostilePasteSite("nested", "huge") as heavy, \
            HostilePasteSite("links", "loop", "trickle", "retry_after") as stalling, \
            HostilePasteSite("candidates") as slow_scan:
        setup = make_setup(sb, receiver, tmp_path, sources=(*BENIGN, "pastebin"))
        with setup.config.open("a", encoding="utf-8") as f:
            for n, site in enumerate((heavy, stalling, slow_scan)):
                f.write(site.table(f"hostile-{n}", parse_time_limit="3s"))
            f.write('\n[http]\nfetch_deadline = "4s"\n')
        text = setup.config.read_text(encoding="utf-8")
        assert "[scanner]\n" in text and "\ntime_limit" not in text
        setup.config.write_text(text.replace("[scanner]\n", '[scanner]\ntime_limit = "1s"\n', 1), encoding="utf-8")
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
            assert slow_scan.requests[0] == "candidates" and "not scanned (scan_time_limit)" in log
        finally:
            await daemon.kill()
