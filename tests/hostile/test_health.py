"""Issue 11, "health tells the truth": ``/healthz`` said ``ok`` while a source was silent, while
nothing could be written, and with a notifier disabled for good. Now a source that has not finished a
poll within max(3 × interval, its back-off) is ``stalled``, a store whose writes fail is
``unhealthy`` (503) until one succeeds, disabled notifiers are listed with their reason, and the
answer is cached for a second."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import respx
from sqlalchemy.exc import OperationalError

import crawler.engine.health as health_module
from crawler.engine.health import create_app, health
from tests.hostile.helpers import gists_runner

LIST = "https://api.github.com/gists/public"


async def test_a_source_that_finished_no_poll_for_three_intervals_is_stalled(
        tmp_path: Path, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    no_network.get(LIST).mock(return_value=httpx.Response(200, json=[]))
    async with gists_runner(tmp_path, monkeypatch) as (h, runner):
        assert (await runner.poll()).ok
        code, body = await health(h.engine, {"github_gists": 60.0}, {})
        assert code == 200 and body["sources"]["github_gists"]["status"] == "ok"
        h.clock.advance(3 * 60 + 31)  # a poll hung (or the scheduler died): nothing finished since
        code, body = await health(h.engine, {"github_gists": 60.0}, {})
    assert code == 503 and body["status"] == "unhealthy"
    assert body["sources"]["github_gists"]["status"] == "stalled"
    assert "no poll finished for 211s" in body["sources"]["github_gists"]["reason"]


async def test_a_long_back_off_is_not_a_stall(tmp_path: Path, no_network: respx.MockRouter,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    no_network.get(LIST).mock(return_value=httpx.Response(429, headers={"Retry-After": "1800"}))
    async with gists_runner(tmp_path, monkeypatch) as (h, runner):
        await runner.poll()
        h.clock.advance(600)  # past 3 intervals, inside the server's 1800 s
        code, body = await health(h.engine, {"github_gists": 60.0}, {})
    assert body["sources"]["github_gists"]["status"] == "degraded" and code == 200


async def test_a_store_that_cannot_be_written_is_unhealthy_until_a_write_succeeds(
        tmp_path: Path, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    no_network.get(LIST).mock(return_value=httpx.Response(200, json=[]))
    async with gists_runner(tmp_path, monkeypatch) as (h, runner):
        real = h.store.finish_poll

        def read_only(*_: object, **__: object) -> None:
            raise OperationalError("UPDATE lp_source_state", {}, Exception("attempt to write a readonly database"))

        monkeypatch.setattr(h.store, "finish_poll", read_only)
        out = await runner.poll()
        code, body = await health(h.engine, {"github_gists": 60.0}, {})
        assert not out.ok and code == 503
        assert body["store"]["status"] == "unhealthy" and "readonly database" in body["store"]["reason"]
        monkeypatch.setattr(h.store, "finish_poll", real)
        h.clock.advance(120)
        assert (await runner.poll()).ok
        code, body = await health(h.engine, {"github_gists": 60.0}, {})
    assert code == 200 and body["store"] == {"status": "ok"}


async def test_a_store_that_cannot_be_read_answers_503_not_500(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with gists_runner(tmp_path, monkeypatch) as (h, _):
        def stopped(*_: object, **__: object) -> None:
            raise OperationalError("SELECT", {}, Exception("connection refused"))

        monkeypatch.setattr(h.store, "all_source_states", stopped)
        code, body = await health(h.engine, {"github_gists": 60.0}, {})
    assert code == 503 and "connection refused" in body["store"]["reason"]


async def test_disabled_notifiers_are_listed_with_their_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    async with gists_runner(tmp_path, monkeypatch) as (h, _):
        h.store.disable_notifier("acme-revoke", "HTTP 410: endpoint gone", h.clock())
        _, body = await health(h.engine, {"github_gists": 60.0}, {})
    assert body["notifiers"]["acme-revoke"]["status"] == "disabled"
    assert body["notifiers"]["acme-revoke"]["reason"] == "HTTP 410: endpoint gone"


async def test_the_answer_is_cached_for_a_second(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with gists_runner(tmp_path, monkeypatch) as (h, _):
        calls = 0
        real = h.store.all_source_states

        def counted() -> object:
            nonlocal calls
            calls += 1
            return real()

        monkeypatch.setattr(h.store, "all_source_states", counted)
        app = create_app(h.engine, {"github_gists": 60.0}, {})
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            answers = [await client.get("/healthz") for _ in range(20)]
            monkeypatch.setattr(health_module, "HEALTH_CACHE", 0.0)
            await client.get("/healthz")
    assert {a.status_code for a in answers} == {200} and calls == 2
