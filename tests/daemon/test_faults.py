"""A source answering 5xx, 429 (``Retry-After``) and malformed pages backs off alone.

Pastebin's listing fails three polls in a row (5xx on every retry, then a cut-off JSON page, then
429 with ``Retry-After: 7``) while tokens are published to the healthy sources. Those arrive within a
generous correctness bound (8 s at 1 s polling; timing figures belong to ``bench/latency.py``), the
back-off shows in ``/metrics``, nobody asks Pastebin anything during its ``Retry-After``, and
Pastebin's own token arrives once the faults are over.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest

from crawler.demo.sandbox import Sandbox
from tests.daemon.harness import RecordingReceiver, make_setup, metrics, publish, total, wait_for

pytestmark = pytest.mark.e2e
HEALTHY = ("github_events", "github_gists", "gitlab_snippets", "paste_sites")
RETRY_AFTER = 7.0
BOUND = 8.0


async def test_faulty_source_backs_off_alone(sb: Sandbox, receiver: RecordingReceiver, tmp_path: Path) -> None:
    listing, pastebin = "/api_scraping.php", sb.service_for("pastebin")
    pastebin.inject(503, times=3, path=listing)
    pastebin.malformed(times=1, path=listing)
    pastebin.inject(429, times=1, retry_after=RETRY_AFTER, path=listing)
    pb_token = sb.mint()
    sb.publish_to("pastebin", f"key={pb_token}\n")
    setup = make_setup(sb, receiver, tmp_path)
    daemon = setup.daemon()
    published: dict[str, float] = {}
    seen_backoff = 0.0
    try:
        await wait_for(setup.up, 20, "the daemon")
        for n in range(5):  # spread over the fault period
            for i, source in enumerate(HEALTHY):
                tok = sb.mint()
                published[tok] = publish(sb, source, f"TOKEN={tok}\n", n * 10 + i).published_at
            for _ in range(12):
                m = await metrics(setup)
                seen_backoff = max(seen_backoff, total(m, "leakpatrol_source_backoff_seconds", source="pastebin"))
                await asyncio.sleep(0.25)

        await wait_for(lambda: set(published) <= set(receiver.ids_by_token()), 30, "the healthy sources' tokens")
        late = {tok[:14]: round((receiver.first_arrival(tok) or 0) - at, 1) for tok, at in published.items()
                if (receiver.first_arrival(tok) or time.time()) - at > BOUND}
        assert not late, f"healthy sources delayed past {BOUND}s: {late}"

        async def rate_limited() -> bool:
            m = await metrics(setup)
            return total(m, "leakpatrol_source_rate_limit_waits_total", source="pastebin") >= 1
        await wait_for(rate_limited, 40, "the 429 to be counted")
        m = await metrics(setup)
        assert seen_backoff > 0
        assert total(m, "leakpatrol_source_errors_total", source="pastebin") >= 3
        assert total(m, "leakpatrol_source_errors_total", source="pastebin", kind="malformed") == 1
        assert total(m, "leakpatrol_source_errors_total", source="pastebin", kind="rate_limit") == 1
        for source in HEALTHY:
            assert total(m, "leakpatrol_source_errors_total", source=source) == 0

        await wait_for(lambda: pb_token in receiver.ids_by_token(), 40, "pastebin's token after the faults")
        log = pastebin.requests()
        limited = next(r for r in log if r.status == 429)
        after = [r.time for r in log if r.time > limited.time]
        assert after, "pastebin was never polled again"
        assert min(after) - limited.time >= RETRY_AFTER - 0.05, "a request came during Retry-After"
        daemon.signal(signal.SIGTERM)
        assert await daemon.wait_exit(10) == 0
    finally:
        await daemon.kill()
