"""GitHub sources on responses recorded from api.github.com (PyGithub's ``tests/ReplayData``).

The six failures of issue 10 that the documented fixtures never showed are each shown here on a real
recording: a compare answering GitHub's real 404, an event whose ``type`` is null, an event listed
twice while the feed moved, a push whose compare pages its commits, and the rate-limit answers.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import respx

from crawler.kernel.errors import RateLimited
from sources.github_events import GithubEvents
from sources.github_gists import GithubGists
from sources.github_search import GithubSearch
from tests.realworld.helpers import found, parked, skipped
from tests.realworld.replay import load, planted, planted_base64, planted_patch, serve
from tests.sources.helpers import Clock, collect, documents, make_source, token

API = "https://api.github.com"
EVENTS = load("github_events.events")
COMPARE = load("github_events.compare")
NOT_FOUND = load("github.not_found")


def pushes(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == "PushEvent"]


def compare_url(event: dict[str, Any], per_page: bool = True) -> str:
    p = event["payload"]
    return f"{API}/repos/{event['repo']['name']}/compare/{p['before']}...{p['head']}" + (
        "?per_page=100" if per_page else "")


def compare_with(tok: str) -> dict[str, Any]:
    data = COMPARE.json()
    data["files"][0]["patch"] = planted_patch(data["files"][0]["patch"], tok)
    return data


def serve_events(router: respx.MockRouter, events: list[dict[str, Any]]) -> None:
    router.get(f"{API}/events").mock(return_value=EVENTS.response(data=events))


def serve_pushes(router: respx.MockRouter, events: list[dict[str, Any]]) -> dict[str, str]:
    """Serve the events page and, for each push on it, a recorded compare holding a fresh token."""
    serve_events(router, events)
    tokens = {}
    for e in pushes(events):
        tokens[e["id"]] = token()
        serve(router, compare_url(e), COMPARE.response(data=compare_with(tokens[e["id"]])))
    return tokens


async def test_every_push_of_a_recorded_events_page_is_read() -> None:
    events = EVENTS.json()
    assert EVENTS.header("X-Poll-Interval") == "60" and EVENTS.header("ETag")
    with respx.mock(assert_all_called=False) as router:
        tokens = serve_pushes(router, events)
        source = make_source(GithubEvents, {}, Clock())
        batches = await collect(source, {})
    assert len(tokens) >= 5
    assert found(documents(batches)) == set(tokens.values())
    assert batches[-1].cursor == {"etag": EVENTS.header("ETag"), "seen": [e["id"] for e in reversed(events)]}
    assert source.not_before is not None  # X-Poll-Interval: 60 was honoured
    assert not skipped(batches)


async def test_a_compare_answering_githubs_real_404_is_skipped_and_the_poll_moves_on() -> None:
    events = EVENTS.json()
    gone, *rest = pushes(events)[1:]
    first = pushes(events)[0]
    tokens = {e["id"]: token() for e in [first, *rest]}
    with respx.mock(assert_all_called=False) as router:
        serve_events(router, events)
        serve(router, compare_url(gone), NOT_FOUND.response())
        for e in [first, *rest]:
            serve(router, compare_url(e), COMPARE.response(data=compare_with(tokens[e["id"]])))
        batches = await collect(make_source(GithubEvents, {}, Clock()), {})
        second = await collect(make_source(GithubEvents, {}, Clock()), batches[-1].cursor)
    assert found(documents(batches)) == set(tokens.values())  # the pushes after the 404 are read
    [skip] = skipped(batches)
    assert skip.reason == "gone" and "HTTP 404" in skip.detail and "Not Found" in skip.detail
    assert gone["id"] in batches[-1].cursor["seen"]  # the cursor is not held behind it
    assert documents(second) == [] and not skipped(second)  # and it is not fetched again


async def test_an_event_with_a_null_type_or_an_unreadable_item_does_not_reject_the_page() -> None:
    events = copy.deepcopy(EVENTS.json())
    watch = next(e for e in events if e["type"] == "WatchEvent")
    watch["type"] = None  # GitHub's OpenAPI schema: "type": {"type": "string", "nullable": true}
    broken = next(e for e in events if e["type"] == "CommitCommentEvent")
    del broken["repo"]  # an item that cannot be understood
    with respx.mock(assert_all_called=False) as router:
        tokens = serve_pushes(router, events)
        batches = await collect(make_source(GithubEvents, {}, Clock()), {})
    assert found(documents(batches)) == set(tokens.values())
    assert [(s.key, s.reason) for s in skipped(batches)] == [(broken["id"], "invalid")]


async def test_an_event_listed_twice_while_the_feed_moved_is_fetched_once() -> None:
    events = EVENTS.json()
    page2 = [events[-1], *copy.deepcopy(events[:3])]  # the feed moved: the last item comes again
    for i, e in enumerate(page2[1:]):
        e["id"] = str(int(e["id"]) - 1000 - i)  # older events below it
        e["payload"] = {**(e.get("payload") or {}), "head": f"{i:040x}"}
    nxt = EVENTS.header("Link").split(";")[0].strip("<>")  # type: ignore[union-attr]
    with respx.mock(assert_all_called=False) as router:
        router.get(nxt).mock(return_value=EVENTS.response(data=page2))  # before the route of page 1
        serve_events(router, events)
        calls = {e["id"]: serve(router, compare_url(e), COMPARE.response(data=compare_with(token())))
                 for e in pushes(events + page2)}
        batches = await collect(make_source(GithubEvents, {"backfill_pages": 2}, Clock()), {})
    assert [r.call_count for r in calls.values()] == [1] * len(calls)
    seen = batches[-1].cursor["seen"]
    assert len(seen) == len(set(seen)) == len({e["id"] for e in events + page2})


async def test_a_push_over_300_files_reads_every_commit_across_compare_pages() -> None:
    page1, page2 = load("github_events.compare_page1"), load("github_events.compare_page2")
    files = [load(f"github_events.commit_files{i}") for i in (1, 2, 3)]
    event = copy.deepcopy(pushes(EVENTS.json())[0])
    first = page1.json()
    first["files"] = [{**f, "filename": f"{n}/{f['filename']}"} for n in range(100) for f in first["files"]]
    assert len(first["files"]) == 300  # the compare's cap: its file list is incomplete
    shas = [c["sha"] for c in first["commits"] + page2.json()["commits"]]
    event["payload"]["head"] = shas[-1]
    nxt = page1.header("Link").split(",")[1].split(";")[0].strip(" <>")  # type: ignore[union-attr]
    tok = token()
    with respx.mock(assert_all_called=False) as router:
        serve_events(router, [event])
        serve(router, compare_url(event), page1.response(data=first))
        serve(router, nxt, page2.response())
        commit_calls = {}
        for sha in shas:
            body = files[0].json()
            if sha == shas[-1]:  # the head commit: only on the compare's second page
                body["files"][0]["patch"] = planted_patch(body["files"][0]["patch"], tok)
            commit_calls[sha] = serve(router, f"{API}/repos/{event['repo']['name']}/commits/{sha}",
                                      files[0].response(data=body))
        for i in (1, 2):
            link = files[i - 1].header("Link").split(",")[0 if i == 1 else 1].split(";")[0].strip(" <>")  # type: ignore[union-attr]
            serve(router, link, files[i].response())
        batches = await collect(make_source(GithubEvents, {}, Clock()), {})
    assert len(shas) == page1.json()["total_commits"] == 4
    assert [c.call_count for c in commit_calls.values()] == [1, 1, 1, 1]
    assert found(documents(batches)) == {tok}
    docs = documents(batches)
    assert len(docs) == 4 * 6  # six files per commit, over the commit endpoint's three pages


async def test_a_compare_failing_transiently_is_parked_with_its_event_and_fetched_again() -> None:
    event = pushes(EVENTS.json())[0]
    tok = token()
    with respx.mock(assert_all_called=False) as router:
        serve_events(router, [event])
        serve(router, compare_url(event), NOT_FOUND.response(status=502), NOT_FOUND.response(status=502),
              NOT_FOUND.response(status=502), COMPARE.response(data=compare_with(tok)))
        source = make_source(GithubEvents, {}, Clock())
        batches = await collect(source, {})
        [park] = parked(batches)
        assert documents(batches) == [] and park.reason == "unavailable"
        assert batches[-1].cursor["seen"] == [event["id"]]
        again = await source.refetch(park.key, json.loads(json.dumps(park.ref)))  # as stored and read back
    assert found(list(again.documents)) == {tok}


@pytest.mark.parametrize("name", ["github.rate_limited", "github.abuse_limited"])
@pytest.mark.parametrize(("cls", "path"), [(GithubEvents, "/events"), (GithubGists, "/gists/public"),
                                           (GithubSearch, "/search/code")])
async def test_githubs_recorded_rate_limit_answers_back_every_github_source_off(
        name: str, cls: type[GithubEvents | GithubGists | GithubSearch], path: str) -> None:
    answer = load(name)
    with respx.mock(assert_all_called=False) as router:
        router.get(f"{API}{path}").mock(return_value=answer.response())
        with pytest.raises(RateLimited) as raised:
            await collect(make_source(cls, {}, Clock()), {})
    assert raised.value.retry_after == 60


@pytest.mark.parametrize("name", ["github.rate_limited", "github.abuse_limited"])
async def test_a_rate_limit_on_one_document_stops_the_poll_rather_than_skipping(name: str) -> None:
    event = pushes(EVENTS.json())[0]
    with respx.mock(assert_all_called=False) as router:
        serve_events(router, [event])
        serve(router, compare_url(event), load(name).response())
        with pytest.raises(RateLimited):  # it holds for every document: the source backs off, nothing is skipped
            await collect(make_source(GithubEvents, {}, Clock()), {})


GISTS = load("github_gists.public")


async def test_every_file_of_recorded_public_gists_is_read_and_a_gone_one_skipped() -> None:
    gists = GISTS.json()
    raw = [f["raw_url"] for g in gists for f in g["files"].values()]
    gone_url = raw[1]
    tokens = {}
    with respx.mock(assert_all_called=False) as router:
        router.get(f"{API}/gists/public").mock(return_value=GISTS.response())
        for url in raw:
            if url == gone_url:
                serve(router, url, NOT_FOUND.response())
                continue
            tokens[url] = token()
            serve(router, url, GISTS.response(planted("# gist file\n", tokens[url]), status=200))
        batches = await collect(make_source(GithubGists, {}, Clock()), {})
    assert found(documents(batches)) == set(tokens.values())
    assert [(s.reason, gone_url in s.detail) for s in skipped(batches)] == [("gone", True)]
    newest = max(g["updated_at"] for g in gists)
    assert batches[-1].cursor["since"] == newest


SEARCH = load("github_search.code")
CONTENTS = load("github_search.contents")


async def test_recorded_code_search_hits_are_read_from_their_contents_and_a_gone_one_skipped() -> None:
    hits = SEARCH.json()["items"]
    tokens = {}
    with respx.mock(assert_all_called=False) as router:
        router.get(f"{API}/search/code").mock(return_value=SEARCH.response())
        serve(router, hits[0]["url"], NOT_FOUND.response())
        for hit in hits[1:]:
            tokens[hit["sha"]] = token()
            body = CONTENTS.json()
            body["content"] = planted_base64(body["content"], tokens[hit["sha"]])
            serve(router, hit["url"], CONTENTS.response(data=body))
        batches = await collect(make_source(GithubSearch, {}, Clock()), {})
    assert found(documents(batches)) == set(tokens.values())
    assert [s.key for s in skipped(batches)] == [hits[0]["sha"]]
    assert set(batches[-1].cursor["shas"]) == {h["sha"] for h in hits}
