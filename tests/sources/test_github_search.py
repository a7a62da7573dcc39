"""github_search against the documented search/code, contents and blob fixtures."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from sources.github_search import GithubSearch
from tests.sources.helpers import Clock, collect, documents, fixture_json, make_source

API = "https://api.github.com"


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_obviously_fake_test_token")


def _json(data: object) -> httpx.Response:
    return httpx.Response(200, content=json.dumps(data).encode())


def _mock(router: respx.MockRouter, contents: str = "contents.json") -> tuple[respx.Route, dict]:  # type: ignore[type-arg]
    results = fixture_json("github_search", "search_code.json")
    search = router.get(f"{API}/search/code").mock(return_value=_json(results))
    router.get(results["items"][0]["url"]).mock(return_value=_json(fixture_json("github_search", contents)))
    return search, results


async def test_each_prefix_is_searched_with_text_match_and_paced(no_network: respx.MockRouter) -> None:
    search, results = _mock(no_network)
    clock = Clock()
    src = make_source(GithubSearch, {}, clock, prefixes=("acme_live_", "acme_test_"))
    docs = documents(await collect(src, {}))
    assert [c.request.url.params["q"] for c in search.calls] == ['"acme_live_"', '"acme_test_"']
    assert all(c.request.headers["Accept"] == "application/vnd.github.text-match+json" for c in search.calls)
    assert clock.sleeps == [6.0]  # 10 searches a minute
    assert [d.content for d in docs] == [b"DEBUG = False\n"]  # same blob in both searches: once
    assert docs[0].url == results["items"][0]["html_url"]
    assert docs[0].meta["repo"] == "octocat/Hello-World"


async def test_large_file_comes_from_the_git_blob(no_network: respx.MockRouter) -> None:
    _, results = _mock(no_network, "contents_large.json")
    blob = no_network.get(results["items"][0]["git_url"]).mock(return_value=_json(fixture_json("github_search",
                                                                                              "blob.json")))
    docs = documents(await collect(make_source(GithubSearch, {}, Clock()), {}))
    assert blob.called
    assert [d.content for d in docs] == [b"DEBUG = False\n"]


async def test_blob_sha_seen_in_the_cursor_is_not_fetched_again(no_network: respx.MockRouter) -> None:
    search, results = _mock(no_network)
    contents = no_network.routes[1]
    first = await collect(make_source(GithubSearch, {}, Clock()), {})
    assert first[-1].cursor["shas"] == [results["items"][0]["sha"]]
    again = await collect(make_source(GithubSearch, {}, Clock()), first[-1].cursor)
    assert documents(again) == []
    assert search.call_count == 2 and contents.call_count == 1
