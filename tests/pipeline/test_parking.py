"""One bad document never stops a source, through the real runner, engine and store (SQLite and
PostgreSQL): a push whose compare fails for good sits between two good pushes; both good tokens are
notified, the cursor moves past all three, and the bad one is fetched again with back-off until its
give-up age (a mocked clock), then recorded as skipped. A parked document that recovers is notified.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from crawler.engine.health import health
from crawler.engine.polling import SourceRunner
from crawler.kernel.retry import RetryPolicy
from crawler.plugins import build_config
from crawler.store.crypto import Cipher
from crawler.store.database import open_store
from tests.pipeline.helpers import (
    INTROSPECT,
    INTROSPECT_SECRET_ENV,
    WEBHOOK_SECRET_ENV,
    FakeClock,
    Harness,
    Issuer,
    endpoint,
    rule,
    running,
    secrets,
    webhook,
)
from tests.realworld.replay import load, planted_patch, serve
from tests.sources.helpers import token

API = "https://api.github.com"
EVENTS = load("github_events.events")
COMPARE = load("github_events.compare")
GIVE_UP = 3600.0


def config(tmp_path: Path, url: str, sources: dict[str, Any]) -> Any:
    return build_config({
        "storage": {"url": url, "key_file": str(tmp_path / "lp.key")},
        "http": {"transport": "httpcore"},  # respx sits on httpx's own transport
        "scanner": {"builtin_rules": False},
        "rules": [rule()],
        "verifiers": [{"id": "acme-introspect", "kind": "introspection", "url": INTROSPECT,
                       "client_id": "leakpatrol", "client_secret_env": INTROSPECT_SECRET_ENV,
                       "rate_per_second": 1e6}],
        "notifiers": [webhook(secret_env=WEBHOOK_SECRET_ENV)],
        "sources": sources,
    })


@asynccontextmanager
async def runner(tmp_path: Path, url: str, sources: dict[str, Any]) -> AsyncIterator[tuple[Harness, SourceRunner]]:
    cfg = config(tmp_path, url, sources)
    store = open_store(cfg.database_url(), Cipher(os.urandom(32)))

    async def no_sleep(_: float) -> None:
        return None

    try:
        async with running(cfg, FakeClock(), store) as h, AsyncExitStack() as stack:
            yield h, SourceRunner(h.engine, cfg.source_specs[0], stack, RetryPolicy(sleep=no_sleep))
    finally:
        store.close()


def compare_url(event: dict[str, Any]) -> str:
    p = event["payload"]
    return f"{API}/repos/{event['repo']['name']}/compare/{p['before']}...{p['head']}?per_page=100"


def compare_with(tok: str) -> httpx.Response:
    data = COMPARE.json()
    data["files"][0]["patch"] = planted_patch(data["files"][0]["patch"], tok)
    return COMPARE.response(data=data)


def skipped_total(h: Harness, reason: str) -> float:
    value = h.engine.metrics.registry.get_sample_value(
        "leakpatrol_documents_skipped_total", {"source": "github_events", "reason": reason})
    return value or 0.0


async def test_a_document_failing_for_good_between_two_good_ones_is_skipped_after_its_give_up_age(
        tmp_path: Path, db_url: str, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    secrets(monkeypatch)
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-not-a-real-one")
    first, bad, last = [e for e in EVENTS.json() if e["type"] == "PushEvent"][:3]
    good = {first["id"]: token(), last["id"]: token()}
    issuer, hook = Issuer(no_network), endpoint(no_network)
    issuer.live.update(good.values())
    no_network.get(f"{API}/events").mock(return_value=EVENTS.response(data=[last, bad, first]))  # newest first
    serve(no_network, compare_url(first), compare_with(good[first["id"]]))
    serve(no_network, compare_url(last), compare_with(good[last["id"]]))
    failing = serve(no_network, compare_url(bad), httpx.Response(503, json={"message": "Service Unavailable"}))

    sources = {"github_events": {"document_give_up_after": f"{GIVE_UP:g}s"}}
    async with runner(tmp_path, db_url, sources) as (h, run):
        out = await run.poll(interval=False)
        await h.engine.settle()
        assert out.ok and out.documents == 2 * len(COMPARE.json()["files"])
        assert {b["data"]["token"] for b in hook.bodies} == set(good.values())  # both good ones notified
        state = h.store.source_state("github_events")
        assert state.cursor["seen"] == [first["id"], bad["id"], last["id"]]  # the cursor is past all three
        [row] = h.store.parked_documents("github_events")
        assert (row.key, row.reason, row.attempts) == (f"{bad['repo']['name']}#{bad['id']}", "unavailable", 1)
        assert row.ref["event"]["id"] == bad["id"]
        _, body = await health(h.engine, ["github_events"], {})
        assert body["sources"]["github_events"]["parked_documents"] == 1

        attempts, waits = 1, []
        while not h.store.parked_documents("github_events", given_up=True):
            assert attempts < 20, "never given up"
            row = h.store.parked_documents("github_events")[0]
            assert row.next_attempt_at is not None
            waits.append((row.next_attempt_at - h.clock.now).total_seconds())
            poll = h.store.source_state("github_events").next_poll_at  # X-Poll-Interval: 60
            h.clock.now = max(row.next_attempt_at, poll or row.next_attempt_at)
            await run.poll(interval=False)
            attempts += 1
        assert waits[:4] == [5.0, 10.0, 20.0, 40.0]  # back-off: 5 s, doubling (up to 15 min)
        assert max(waits) == 900.0
        [gave_up] = h.store.parked_documents("github_events", given_up=True)
        assert gave_up.given_up_at is not None
        assert (gave_up.given_up_at - gave_up.first_failed_at).total_seconds() >= GIVE_UP
        assert skipped_total(h, "gave_up") == 1
        calls = failing.call_count
        h.clock.advance(10 * GIVE_UP)
        await run.poll(interval=False)
        assert failing.call_count == calls  # recorded as skipped: never fetched again
        assert sorted(b["data"]["token"] for b in hook.bodies) == sorted(good.values())  # once each
    assert f"{bad['repo']['name']}#{bad['id']} skipped (gave_up)" in caplog.text
    assert not any(t in caplog.text for t in good.values())  # logs carry the redacted form only


async def test_a_parked_document_that_recovers_is_notified(
        tmp_path: Path, db_url: str, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets(monkeypatch)
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-not-a-real-one")
    event = next(e for e in EVENTS.json() if e["type"] == "PushEvent")
    tok = token()
    issuer, hook = Issuer(no_network), endpoint(no_network)
    issuer.live.add(tok)
    no_network.get(f"{API}/events").mock(return_value=EVENTS.response(data=[event]))
    down = httpx.Response(502, text="Bad Gateway")
    serve(no_network, compare_url(event), down, down, down, compare_with(tok))
    async with runner(tmp_path, db_url, {"github_events": {}}) as (h, run):
        await run.poll(interval=False)
        assert hook.bodies == [] and len(h.store.parked_documents("github_events")) == 1
        h.clock.advance(60)  # the next poll (X-Poll-Interval: 60) tries it again
        await run.poll(interval=False)
        await h.engine.settle()
        assert [b["data"]["token"] for b in hook.bodies] == [tok]
        assert h.store.parked_documents("github_events") == []


async def test_a_not_ready_paste_waits_the_minute_then_is_notified(
        tmp_path: Path, db_url: str, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets(monkeypatch)
    listing, not_ready = load("pastebin.scraping"), load("pastebin.not_ready")
    key = listing.json()[0]["key"]
    tok = token()
    issuer, hook = Issuer(no_network), endpoint(no_network)
    issuer.live.add(tok)
    base = "https://scrape.pastebin.com"
    no_network.get(f"{base}/api_scraping.php").mock(return_value=listing.response())
    item = serve(no_network, f"{base}/api_scrape_item.php?i={key}", not_ready.response(),
                 listing.response(f"token = {tok}\n"))
    async with runner(tmp_path, db_url, {"pastebin": {}}) as (h, run):
        await run.poll(interval=False)
        [row] = h.store.parked_documents("pastebin")
        assert row.next_attempt_at is not None and (row.next_attempt_at - h.clock.now).total_seconds() == 60
        h.clock.advance(30)
        await run.poll(interval=False)
        assert item.call_count == 1  # not before the minute Pastebin asked for
        h.clock.advance(30)
        await run.poll(interval=False)
        await h.engine.settle()
        assert [b["data"]["token"] for b in hook.bodies] == [tok]


async def test_not_whitelisted_backs_off_from_a_minute_doubling_and_shows_degraded(
        tmp_path: Path, db_url: str, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets(monkeypatch)
    no_network.get("https://scrape.pastebin.com/api_scraping.php").mock(
        return_value=load("pastebin.no_access").response())
    async with runner(tmp_path, db_url, {"pastebin": {}}) as (h, run):
        waits = []
        for _ in range(8):
            await run.poll(interval=False)
            state = h.store.source_state("pastebin")
            assert state.next_poll_at is not None
            waits.append((state.next_poll_at - h.clock.now).total_seconds())
            h.clock.now = state.next_poll_at
        assert waits == [60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 3600.0, 3600.0]
        _, body = await health(h.engine, ["pastebin"], {})
        entry = body["sources"]["pastebin"]
        assert entry["status"] in ("degraded", "failing") and "whitelisted" in entry["reason"]


async def test_a_parked_document_whose_ref_cannot_be_read_any_more_is_skipped_not_a_wedged_source(
        tmp_path: Path, db_url: str, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets(monkeypatch)
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-not-a-real-one")
    no_network.get(f"{API}/events").mock(return_value=EVENTS.response(data=[]))
    async with runner(tmp_path, db_url, {"github_events": {}}) as (h, run):
        h.store.park("github_events", "old#1", {"kind": "push", "event": {"id": "1"}}, reason="unavailable",
                     detail="", now=h.clock.now, retry_at=h.clock.now)  # an event without its repo
        out = await run.poll(interval=False)
        assert out.ok
        assert h.store.parked_documents("github_events") == []
        assert skipped_total(h, "invalid") == 1
