"""The fetch queue through the real runner, engine and store (SQLite and PostgreSQL): the events feed
queues its pushes before its cursor passes them; they survive a restart and are fetched by the next
engine; a spent budget gives them back and pauses the queue without a single request (no 403); the
daemon drains the queue in its own job, and polls without draining."""

from __future__ import annotations

import copy
import json
import os
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from crawler.engine.polling import SourceRunner
from crawler.engine.scheduler import Daemon
from crawler.kernel.retry import RetryPolicy
from crawler.store.crypto import Cipher
from crawler.store.database import open_store
from tests.pipeline.helpers import FakeClock, Issuer, endpoint, running, secrets
from tests.pipeline.test_parking import API, EVENTS, compare_url, config
from tests.realworld.test_github import compare_with
from tests.sources.helpers import token

PUSHES = [e for e in EVENTS.json() if e["type"] == "PushEvent"][:3]


def spent(clock: FakeClock, remaining: int) -> dict[str, str]:
    return {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": str(remaining), "X-RateLimit-Resource": "core",
            "X-RateLimit-Reset": str(int((clock.now + timedelta(minutes=30)).timestamp()))}


async def no_sleep(_: float) -> None:
    return None


async def test_queued_pushes_survive_a_restart_and_a_spent_budget_pauses_the_queue_without_a_403(
        tmp_path: Path, db_url: str, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets(monkeypatch)
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-not-a-real-one")
    tokens = {e["id"]: token() for e in PUSHES}
    issuer, hook = Issuer(no_network), endpoint(no_network)
    issuer.live.update(tokens.values())
    clock = FakeClock()
    feed = no_network.get(f"{API}/events").mock(return_value=EVENTS.response(data=list(reversed(PUSHES))))
    compares = {e["id"]: no_network.get(compare_url(e)).mock(return_value=httpx.Response(
        200, json=compare_with(tokens[e["id"]]), headers=spent(clock, 1000))) for e in PUSHES}
    cfg = config(tmp_path, db_url, {"github_events": {}})
    policy = RetryPolicy(sleep=no_sleep)

    key = Cipher(os.urandom(32))
    first, second = open_store(db_url, key), open_store(db_url, key)  # two processes' connections, one key
    async with running(cfg, clock, first) as h, AsyncExitStack() as stack:  # lists, then is "killed"
        runner = SourceRunner(h.engine, cfg.source_specs[0], stack, policy)
        out = await runner.poll(interval=False, drain=0)
        assert out.ok and out.documents == 0 and feed.called
        assert [r.status for r in h.store.fetch_items()] == ["pending"] * 3
        assert h.store.source_state("github_events").cursor["seen"]  # the cursor moved past the queued pushes
    first.close()
    assert not any(c.called for c in compares.values())

    last = compares[PUSHES[-1]["id"]]  # newest first: it goes first, and says the budget is spent
    last.mock(return_value=httpx.Response(200, json=compare_with(tokens[PUSHES[-1]["id"]]), headers=spent(clock, 0)))
    async with running(cfg, clock, second) as h, AsyncExitStack() as stack:  # the next process
        runner = SourceRunner(h.engine, cfg.source_specs[0], stack, policy)
        drained = await runner.drain()
        await h.engine.settle()
        assert drained.sightings == 1 and last.call_count == 1
        assert sum(c.call_count for c in compares.values()) == 1  # the others were not even asked: no 403
        waiting = [r for r in h.store.fetch_items() if r.status == "pending"]
        assert len(waiting) == 2 and all(r.next_attempt_at and r.next_attempt_at > clock.now for r in waiting)
        assert (await runner.drain()).sightings == 0  # paused until the reset
        clock.now += timedelta(minutes=31)
        for e in PUSHES[:-1]:
            compares[e["id"]].mock(return_value=httpx.Response(200, json=compare_with(tokens[e["id"]]),
                                                               headers=spent(clock, 900)))
        assert (await runner.drain()).sightings == 2
        await h.engine.settle()
        assert {r.status for r in h.store.fetch_items()} == {"done"}
        metric = h.engine.metrics.registry.get_sample_value
        assert metric("leakpatrol_github_pushes_fetched_total", {"via": "github_events"}) == 3
        assert metric("leakpatrol_fetch_queue_depth", {"source": "github_events"}) == 0
    second.close()
    assert {b["data"]["token"] for b in hook.bodies} == set(tokens.values())
    assert all(c.call_count == 1 for c in compares.values())  # each push fetched once


async def test_the_daemon_drains_each_queue_in_its_own_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets(monkeypatch)
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-not-a-real-one")
    sources: dict[str, Any] = {"github_events": {}, "github_gists": {}}
    cfg = config(tmp_path, f"sqlite:///{tmp_path / 'lp.db'}", sources)
    async with running(cfg) as h, AsyncExitStack() as stack:
        daemon = Daemon(cfg, h.engine, stack)
        daemon.schedule()
        jobs = {j.id for j in daemon.scheduler.get_jobs()}
    assert {"source:github_events", "fetch:github_events", "source:github_gists"} <= jobs
    assert "fetch:github_gists" not in jobs  # gists are fetched in the poll, no queue


async def test_a_push_to_a_repository_named_like_a_token_is_queued_without_it_in_plaintext(
        tmp_path: Path, db_url: str, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    """A queued push's key and ref name its repository: one named like a token (underscores and 100
    characters are allowed) has its key stored redacted and its ref sealed, and is still fetched."""
    secrets(monkeypatch)
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-not-a-real-one")
    named, planted = token(), token()
    push = copy.deepcopy(PUSHES[0])
    push["repo"]["name"] = f"someone/{named}"
    push["repo"]["url"] = f"{API}/repos/someone/{named}"
    issuer, _hook = Issuer(no_network), endpoint(no_network)
    issuer.live.add(planted)
    no_network.get(f"{API}/events").mock(return_value=EVENTS.response(data=[push]))
    compare = no_network.get(compare_url(push)).mock(return_value=httpx.Response(200, json=compare_with(planted)))
    cfg = config(tmp_path, db_url, {"github_events": {}})
    async with running(cfg) as h, AsyncExitStack() as stack:
        runner = SourceRunner(h.engine, cfg.source_specs[0], stack, RetryPolicy(sleep=no_sleep))
        assert (await runner.poll(interval=False, drain=0)).ok
        [row] = h.store.fetch_items()
        assert named not in row.key and named not in json.dumps(row.ref) and list(row.ref) == ["sealed"]
        drained = await runner.drain()
        await h.engine.settle()
        assert compare.call_count == 1 and drained.sightings == 1  # fetched with the real name
        sighting = h.store.sightings([t.id for t in h.store.tokens()])[0]
        assert named not in sighting.url
    if db_url.startswith("sqlite"):
        raw = b"".join(p.read_bytes() for p in tmp_path.glob("lp.db*"))
        assert named.encode() not in raw and planted.encode() not in raw
