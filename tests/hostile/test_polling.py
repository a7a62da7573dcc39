"""Issue 11, "escaped exceptions" and "stalls that look healthy", through the real runner, engine and
store: every exception of a poll is a recorded failure with back-off, server-given waits are clamped
(and logged), a trickled body cannot hold a fetch past its deadline, and the same traceback is logged
once per streak."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
import respx

from tests.hostile.helpers import gists_runner, source_runner

API = "https://api.github.com"
LIST = f"{API}/gists/public"
HOUR = 3600.0


def gist_listing(n: int) -> list[dict[str, object]]:
    """``n`` gists of one file each, one second apart, in the documented shape."""
    return [{"id": f"g{i}", "html_url": f"https://gist.github.com/u/g{i}", "updated_at": f"2026-11-28T21:00:{i:02d}Z",
             "files": {"a.txt": {"raw_url": f"https://gist.githubusercontent.com/u/g{i}/raw/a.txt"}}}
            for i in range(n)]


def waited(next_poll_at: datetime | None, now: datetime) -> float:
    assert next_poll_at is not None
    return (next_poll_at.replace(tzinfo=None) - now.replace(tzinfo=None)).total_seconds()


@pytest.mark.parametrize("headers", [
    {"Retry-After": "1e20"},
    {"Retry-After": "999999999"},
    {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "9" * 30},
], ids=["retry-after-1e20", "retry-after-decades", "ratelimit-reset-1e30"])
async def test_a_server_given_wait_is_clamped_to_an_hour_and_logged(
        headers: dict[str, str], tmp_path: Path, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    no_network.get(LIST).mock(return_value=httpx.Response(429 if "Retry-After" in headers else 403, headers=headers))
    async with gists_runner(tmp_path, monkeypatch) as (h, runner):
        out = await runner.poll()
        state = h.store.source_state("github_gists")
        now = h.clock()
    assert not out.ok
    assert waited(state.next_poll_at, now) == HOUR
    assert "clamped to 3600s" in caplog.text


async def test_an_endless_poll_interval_is_clamped(tmp_path: Path, no_network: respx.MockRouter,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    no_network.get(f"{API}/events").mock(return_value=httpx.Response(
        200, json=[], headers={"X-Poll-Interval": str(10**30), "ETag": 'W/"a"'}))
    async with source_runner(tmp_path, monkeypatch, {"github_events": {"interval": "60s"}}) as (h, runner):
        out = await runner.poll()
        state = h.store.source_state("github_events")
        now = h.clock()
    assert out.ok, out.error
    assert waited(state.next_poll_at, now) == HOUR
    assert "X-Poll-Interval asked for a wait of 1e+30s; clamped to 3600s" in caplog.text


async def test_a_redirect_loop_is_a_failure_with_back_off(tmp_path: Path, no_network: respx.MockRouter,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    no_network.get(LIST).mock(return_value=httpx.Response(302, headers={"Location": LIST}))
    async with gists_runner(tmp_path, monkeypatch) as (h, runner):
        out = await runner.poll()
        state = h.store.source_state("github_gists")
        due_again = await runner.due(h.clock())
        now = h.clock()
    assert not out.ok and "TooManyRedirects" in out.error
    assert state.failing_since is not None and "TooManyRedirects" in state.last_error
    assert waited(state.next_poll_at, now) >= 60.0 and not due_again


async def test_memory_error_is_a_failure_and_its_traceback_is_logged_once_per_streak(
        tmp_path: Path, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    no_network.get(LIST).mock(side_effect=MemoryError)
    async with gists_runner(tmp_path, monkeypatch) as (h, runner):
        outs = []
        for _ in range(3):
            outs.append(await runner.poll())
            h.clock.advance(HOUR)
        state = h.store.source_state("github_gists")
        no_network.get(LIST).mock(return_value=httpx.Response(200, json=[]))
        recovered = await runner.poll()
    assert [o.ok for o in outs] == [False, False, False] and recovered.ok
    assert state.failing_since is not None and "MemoryError" in state.last_error
    polling = [r for r in caplog.records if r.name == "crawler.engine.polling"]
    assert sum(r.exc_info is not None for r in polling) == 1
    assert any("3 times in a row" in r.getMessage() for r in polling)
    assert any("polling again after 3 failed polls" in r.getMessage() for r in polling)


class Trickle(httpx.AsyncByteStream):
    """A body that never ends: one byte every 0.2 s."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            yield b" "
            await asyncio.sleep(0.2)


async def test_a_trickled_body_cannot_hold_a_fetch_past_its_deadline(
        tmp_path: Path, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    no_network.get(LIST).mock(side_effect=lambda _: httpx.Response(200, stream=Trickle()))
    async with gists_runner(tmp_path, monkeypatch, http={"fetch_deadline": "1s"}) as (h, runner):
        out = await asyncio.wait_for(runner.poll(), 30)  # three attempts of one second each
        state = h.store.source_state("github_gists")
    assert not out.ok and "timeout" in out.error
    assert state.failing_since is not None


async def test_a_listing_whose_next_page_is_itself_ends_the_poll(
        tmp_path: Path, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """Gists pages whose ``Link: next`` points back to themselves once piled up 5.7 GB in one poll."""
    route = no_network.get(url__startswith=LIST).mock(side_effect=lambda request: httpx.Response(
        200, json=[], headers={"Link": f'<{request.url}>; rel="next"'}))
    async with gists_runner(tmp_path, monkeypatch) as (h, runner):
        h.store.update_source("github_gists", cursor={"since": "2026-11-28T21:00:00Z"})
        out = await runner.poll()
    assert out.ok and route.call_count == 1
    assert "repeats itself" in caplog.text


async def test_a_poll_ends_at_its_byte_budget_and_the_next_goes_on(
        tmp_path: Path, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    no_network.get(url__startswith=LIST).mock(return_value=httpx.Response(200, json=gist_listing(6)))
    raw = no_network.get(url__startswith="https://gist.githubusercontent.com/").mock(
        return_value=httpx.Response(200, content=b"x" * 600 * 1024))
    async with gists_runner(tmp_path, monkeypatch, http={"max_poll_bytes": 1024 * 1024}) as (h, runner):
        h.store.update_source("github_gists", cursor={"since": "2026-11-28T20:00:00Z"})
        first = await runner.poll()
        after_first = raw.call_count
        h.clock.advance(HOUR)
        second = await runner.poll()
        state = h.store.source_state("github_gists")
    assert first.ok and second.ok and state.failing_since is None  # a full poll is not a failed one
    assert 1 <= first.documents < 6 and second.documents >= 1  # stopped at the budget, then went on
    assert raw.call_count == after_first + second.documents == first.documents + second.documents  # none twice


async def test_a_poll_ends_at_its_document_budget_and_the_next_goes_on(
        tmp_path: Path, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    no_network.get(url__startswith=LIST).mock(return_value=httpx.Response(200, json=gist_listing(5)))
    no_network.get(url__startswith="https://gist.githubusercontent.com/").mock(
        return_value=httpx.Response(200, text="nothing\n"))
    async with gists_runner(tmp_path, monkeypatch, http={"max_poll_documents": 2}) as (h, runner):
        h.store.update_source("github_gists", cursor={"since": "2026-11-28T20:00:00Z"})
        polls = []
        for _ in range(4):
            polls.append(await runner.poll())
            h.clock.advance(HOUR)
    assert [p.documents for p in polls] == [2, 2, 1, 0]
    assert all(p.ok for p in polls)


async def test_a_notifier_endpoint_trickling_its_answer_is_a_retry_not_a_hang(
        no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    from crawler.config.model import NotifierConfig
    from crawler.http import make_client
    from crawler.notifiers.webhook import WebhookNotifier
    from tests.notifiers.helpers import exposure_event, new_secret
    from tests.sources.helpers import token

    monkeypatch.setenv("ACME_WEBHOOK_SECRET", new_secret())
    url = "https://hooks.acme.example/leakpatrol"
    no_network.post(url).mock(side_effect=lambda _: httpx.Response(200, stream=Trickle()))
    async with make_client() as client:
        hook = WebhookNotifier(NotifierConfig(id="acme-revoke", kind="webhook", url=url, timeout="1s",
                                              secret_env="ACME_WEBHOOK_SECRET"), client)
        result = await asyncio.wait_for(hook.send("msg_1", exposure_event(token())), 30)
    assert result.outcome == "retry" and "timeout" in result.detail
