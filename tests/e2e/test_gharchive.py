"""GH Archive against the sandbox: hourly gzip NDJSON files fed from the same push stream as the
events feed, read streamed; and, through the engine's fetch queue, each push fetched once whichever
of ``github_events`` and ``gharchive`` saw it first.

The generic multi-poll scenario of ``test_sources.py`` does not fit a listing that changes once an
hour (an hour is read once, when it has ended): these tests are its ``gharchive`` part.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from crawler.demo.sandbox import Sandbox
from crawler.engine.polling import SourceRunner
from crawler.plugins import build_config
from sources import SOURCES
from sources.fakes.github import GitHubService, archive_hour
from tests.e2e.test_sources import build, poll_once
from tests.pipeline.helpers import FakeClock, rule, running

pytestmark = pytest.mark.e2e


def plant(sb: Sandbox, n: int, lag: float) -> list[str]:
    gh, tokens = sb.fake(GitHubService), [sb.mint() for _ in range(n)]
    for i, tok in enumerate(tokens):
        gh.publish_push(f"octo/archived-{i % 2}", {f"cfg{lag:g}-{i}.env": f"KEY={tok}\n"}, lag=lag)
        gh.publish_event("WatchEvent", "octo/noise")
    return tokens


async def test_the_archive_of_the_last_hours_is_read_and_the_hour_in_progress_waited_for(sb: Sandbox) -> None:
    archived, current = plant(sb, 3, lag=3600.0), plant(sb, 1, lag=0.0)
    source = build(SOURCES["gharchive"],
                   {**sb.source_table("gharchive").values, "backfill_hours": 2})
    try:
        docs, cursor, failed = await poll_once(source, {})
        again, cursor2, failed2 = await poll_once(source, cursor)
    finally:
        await source.ctx.client.aclose()
    found = {tok for tok in archived + current if any(tok.encode() in d.content for d in docs)}
    assert not failed and found == set(archived)  # the hour in progress is not published yet
    last = archive_hour(datetime.now(UTC).timestamp() - 3600)
    assert cursor == {"hour": last}
    assert (again, failed2, cursor2) == ([], False, cursor)  # nothing ended since: not asked again
    asked = [r.path for r in sb.requests() if r.path.startswith("/github/archive/")]
    assert len(asked) == 2 and asked[-1] == f"/github/archive/{last}.json.gz"
    async with httpx.AsyncClient() as client:  # what the source would get for the hour in progress
        now = archive_hour(datetime.now(UTC).timestamp())
        assert (await client.get(f"{sb.api_url('gharchive')}/archive/{now}.json.gz")).status_code == 404


async def test_a_push_seen_by_the_feed_and_the_archive_is_fetched_once(sb: Sandbox, tmp_path: Path) -> None:
    tokens = plant(sb, 4, lag=3600.0)  # on /events (dated an hour back) and in the last hour's archive
    events, archive = sb.source_table("github_events"), sb.source_table("gharchive")
    cfg = build_config({
        "storage": {"url": f"sqlite:///{tmp_path / 'lp.db'}", "key_file": str(tmp_path / "lp.key")},
        "scanner": {"builtin_rules": False},
        "rules": [rule("demo-live", "demo_live_", verifier=None)],
        "sources": {"github_events": {**events.values, "interval": "1s"},
                    "gharchive": {**archive.values, "interval": "1s", "backfill_hours": 2}},
    })
    env = {**events.env, **archive.env}
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        async with running(cfg, FakeClock(datetime.now(UTC))) as h, AsyncExitStack() as stack:
            feed, hourly = (SourceRunner(h.engine, spec, stack) for spec in cfg.source_specs)
            first = await feed.poll(interval=False)
            second = await hourly.poll(interval=False)
            await h.engine.settle()
            rows = h.store.fetch_items()
            found = {t.redacted for t in h.store.tokens()}
    compares = [r for r in sb.requests() if "/compare/" in r.path or "/commits/" in r.path]
    assert first.ok and second.ok and first.sightings == len(tokens) and second.sightings == 0
    assert len(found) == len(tokens)
    assert len(rows) == len(tokens) and {r.status for r in rows} == {"done"}
    assert {r.handler for r in rows} == {"github_events"}  # the feed saw them first …
    assert all(r.seen_realtime_at and r.seen_backfill_at for r in rows)  # … the archive saw them too
    assert len(compares) == len(tokens), "each push fetched once across both sources"
    metric = h.engine.metrics.registry.get_sample_value
    assert metric("leakpatrol_github_pushes_total", {"seen_by": "gharchive"}) == len(tokens)
    assert metric("leakpatrol_github_pushes_fetched_total", {"via": "github_events"}) == len(tokens)
    assert metric("leakpatrol_fetch_queue_depth", {"source": "github_events"}) == 0
