"""Issue 11, "budgets per poll": a listing that never ends (an endless ``Link: next`` chain of
distinct pages, a page number that keeps counting) stops at ``[http] max_poll_pages``; the poll ends
keeping its progress (not a failure, logged once) and the next one goes on. A listing that repeats
itself ends the poll's paging at once."""

from __future__ import annotations

import copy
import gzip
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from crawler.config.model import HttpConfig
from crawler.plugins import build_config
from sources.base import SourceContext
from sources.gharchive import Gharchive
from sources.github_search import GithubSearch
from tests.hostile.helpers import gists_runner, source_runner
from tests.sources.helpers import Clock, collect, fixture_json, make_source

API = "https://api.github.com"
GISTS = f"{API}/gists/public"
RAW = "https://gist.githubusercontent.com"
GITLAB = "https://gitlab.com/api/v4"
HOUR = 3600.0


def page_of(request: httpx.Request) -> int:
    return int(request.url.params.get("page", "0"))


def endless_gists(request: httpx.Request) -> httpx.Response:
    """Page ``n`` lists gist ``g<n>`` and links to page ``n + 1``, for ever (every URL distinct)."""
    n = page_of(request)
    gist = {"id": f"g{n}", "html_url": f"https://gist.github.com/u/g{n}",
            "updated_at": f"2026-11-28T21:{n // 60:02d}:{n % 60:02d}Z",
            "files": {"a.txt": {"raw_url": f"{RAW}/u/g{n}/raw/a.txt"}}}
    return httpx.Response(200, json=[gist], headers={"Link": f'<{GISTS}?page={n + 1}>; rel="next"'})


async def test_an_endless_gists_listing_stops_at_max_poll_pages_and_keeps_its_progress(
        tmp_path: Path, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    listing = no_network.get(url__startswith=GISTS).mock(side_effect=endless_gists)
    raw = no_network.get(url__startswith=f"{RAW}/").mock(return_value=httpx.Response(200, text="nothing\n"))
    async with gists_runner(tmp_path, monkeypatch, http={"max_poll_pages": 4}) as (h, runner):
        h.store.update_source("github_gists", cursor={"since": "2026-11-28T20:00:00Z"})
        first = await runner.poll()
        after_first = (listing.call_count, raw.call_count)
        state = h.store.source_state("github_gists")
        h.clock.advance(HOUR)
        second = await runner.poll()
    assert first.ok and state.failing_since is None and state.last_error == ""  # a full poll, not a failed one
    assert after_first == (4, 4) and first.documents == 4  # four pages listed, their four gists fetched
    assert state.cursor["since"] == "2026-11-28T21:00:03Z"  # the progress is kept
    # the second poll is bounded the same way and fetches none of the first poll's gists again
    assert second.ok and listing.call_count == 8 and raw.call_count == 4 and second.documents == 0
    told = [r for r in caplog.records if "max_poll_pages" in r.getMessage()]
    assert len(told) == 2 and "listing stopped" in told[0].getMessage()  # once per poll


def endless_snippets(request: httpx.Request) -> httpx.Response:
    """Page ``n`` lists one snippet and says ``X-Next-Page: n + 1``, for ever."""
    n = int(request.url.params.get("page", "1"))
    snip = copy.deepcopy(fixture_json("gitlab_snippets", "snippets_public.json")[0])
    snip["id"], snip["created_at"] = 1000 + n, f"2026-11-28T21:00:{n:02d}Z"
    snip["web_url"] = f"https://gitlab.com/-/snippets/{1000 + n}"
    snip["files"] = [{"path": "a.sh", "raw_url": f"https://gitlab.com/-/snippets/{1000 + n}/raw/main/a.sh"}]
    return httpx.Response(200, json=[snip], headers={"X-Page": str(n), "X-Next-Page": str(n + 1)})


async def test_an_endless_gitlab_listing_stops_at_max_poll_pages_and_keeps_its_progress(
        tmp_path: Path, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    monkeypatch.setenv("GITLAB_TOKEN", "glpat-not-a-real-one")
    listing = no_network.get(url__startswith=f"{GITLAB}/snippets/public").mock(side_effect=endless_snippets)
    raw = no_network.get(url__startswith="https://gitlab.com/-/snippets/").mock(
        return_value=httpx.Response(200, text="echo hi\n"))
    async with source_runner(tmp_path, monkeypatch, {"gitlab_snippets": {"interval": "60s"}},
                             http={"max_poll_pages": 3}) as (h, runner):
        h.store.update_source("gitlab_snippets", cursor={"created_after": "2026-11-28T20:00:00Z"})
        out = await runner.poll()
        state = h.store.source_state("gitlab_snippets")
    assert out.ok and state.failing_since is None
    assert listing.call_count == 3 and raw.call_count == 3 and out.documents == 3
    assert state.cursor["created_after"] == "2026-11-28T21:00:03Z"
    assert sum("max_poll_pages" in r.getMessage() for r in caplog.records) == 1


async def test_a_gitlab_page_number_that_does_not_move_ends_the_listing(
        tmp_path: Path, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("GITLAB_TOKEN", "glpat-not-a-real-one")

    def stuck(request: httpx.Request) -> httpx.Response:
        resp = endless_snippets(request)
        resp.headers["X-Next-Page"] = "2"  # page 2 says its next page is page 2
        return resp

    listing = no_network.get(url__startswith=f"{GITLAB}/snippets/public").mock(side_effect=stuck)
    no_network.get(url__startswith="https://gitlab.com/-/snippets/").mock(return_value=httpx.Response(200, text="x\n"))
    async with source_runner(tmp_path, monkeypatch, {"gitlab_snippets": {"interval": "60s"}}) as (h, runner):
        h.store.update_source("gitlab_snippets", cursor={"created_after": "2026-11-28T20:00:00Z"})
        out = await runner.poll()
    assert out.ok and listing.call_count == 2 and out.documents == 2
    assert "repeats itself" in caplog.text


async def test_an_events_page_linking_to_itself_is_requested_once(
        tmp_path: Path, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    route = no_network.get(url__startswith=f"{API}/events").mock(side_effect=lambda request: httpx.Response(
        200, json=[], headers={"Link": f'<{request.url}>; rel="next"', "ETag": 'W/"a"'}))
    async with source_runner(tmp_path, monkeypatch, {"github_events": {"interval": "60s"}}) as (h, runner):
        h.store.update_source("github_events", cursor={"etag": 'W/"b"', "seen": []})
        out = await runner.poll()
    assert out.ok and route.call_count == 1
    assert "repeats itself" in caplog.text


def search_hits(request: httpx.Request) -> httpx.Response:
    """One hit per searched prefix, its blob named after the prefix."""
    prefix = request.url.params["q"].strip('"')
    data: dict[str, Any] = copy.deepcopy(fixture_json("github_search", "search_code.json"))
    data["items"][0]["sha"] = f"{prefix}sha"
    data["items"][0]["url"] = f"{API}/repositories/1/contents/{prefix}.py"
    return httpx.Response(200, json=data)


async def test_code_search_cut_short_by_its_page_budget_resumes_at_the_next_prefix(
        no_network: respx.MockRouter) -> None:
    searched = no_network.get(url__startswith=f"{API}/search/code").mock(side_effect=search_hits)
    no_network.get(url__startswith=f"{API}/repositories/1/contents/").mock(
        return_value=httpx.Response(200, json={"content": "", "encoding": "base64"}))
    source = make_source(GithubSearch, {"token_env": "GITHUB_TOKEN"}, Clock(), prefixes=("aa_", "bb_", "cc_"))
    ctx: SourceContext = source.ctx
    ctx.max_poll_pages = 2
    cursor: dict[str, Any] = {"shas": []}
    queries = []
    for _ in range(3):
        ctx.new_poll()
        before = searched.call_count
        batches = await collect(source, cursor)
        queries.append([c.request.url.params["q"] for c in searched.calls[before:]])
        cursor = dict(batches[-1].cursor)
    assert queries == [['"aa_"', '"bb_"'], ['"cc_"', '"aa_"'], ['"bb_"', '"cc_"']]  # every prefix in turn
    assert set(cursor["shas"]) == {"aa_sha", "bb_sha", "cc_sha"}


async def test_gharchive_hours_count_as_pages_and_the_next_poll_goes_on_from_the_last_hour_read(
        no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-not-a-real-one")
    hours = no_network.get(url__startswith="https://data.gharchive.org/").mock(
        return_value=httpx.Response(200, content=gzip.compress(b""), headers={"Content-Type": "application/gzip"}))
    source = make_source(Gharchive, {"backfill_hours": 5}, Clock())  # the clock says 22:00: hours 17 to 21
    source.ctx.max_poll_pages = 2
    source.ctx.new_poll()
    first = await collect(source, {})
    source.ctx.new_poll()
    second = await collect(source, first[-1].cursor)
    names = [c.request.url.path.rsplit("/", 1)[-1] for c in hours.calls]
    assert names == [f"2026-11-28-{h}.json.gz" for h in (17, 18, 19, 20)]
    assert first[-1].cursor == {"hour": "2026-11-28-18"} and second[-1].cursor == {"hour": "2026-11-28-20"}


@pytest.mark.parametrize("value", [0, -1, "many"])
def test_max_poll_pages_must_be_a_positive_whole_number(value: object) -> None:
    from crawler.kernel.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        build_config({"http": {"max_poll_pages": value}})
    assert info.value.key == "http.max_poll_pages"
    assert HttpConfig().max_poll_pages == 100
