"""gitlab_snippets against the documented ``GET /snippets/public`` fixture and the 429 throttle."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from crawler.kernel.errors import RateLimited
from sources.gitlab_snippets import GitlabSnippets
from tests.sources.helpers import (
    Clock,
    collect,
    documents,
    fixture_headers,
    fixture_json,
    fixture_text,
    make_source,
    token,
)

API = "https://gitlab.com/api/v4"
PAT = "glpat-obviously-fake-test-token"


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITLAB_TOKEN", PAT)


async def test_pages_by_x_next_page_and_reads_each_file(no_network: respx.MockRouter) -> None:
    snippets = fixture_json("gitlab_snippets", "snippets_public.json")
    body = f"#!/bin/sh\nexport ACME={token()}\n"
    page2 = no_network.get(f"{API}/snippets/public", params={"page": "2"}).mock(
        return_value=httpx.Response(200, json=[], headers={"X-Next-Page": "", "X-Page": "2"}))
    page1 = no_network.get(f"{API}/snippets/public", params={"page": "1"}).mock(return_value=httpx.Response(
        200, content=json.dumps(snippets).encode(), headers=fixture_headers("gitlab_snippets",
                                                                            "snippets_public.headers.json")))
    raw = no_network.get(snippets[0]["files"][0]["raw_url"]).mock(return_value=httpx.Response(200, text=body))
    batches = await collect(make_source(GitlabSnippets, {}, Clock()), {})
    docs = documents(batches)
    assert page1.called and page2.called
    assert page1.calls[0].request.headers["PRIVATE-TOKEN"] == PAT
    assert raw.calls[0].request.headers["PRIVATE-TOKEN"] == PAT  # same instance as the API
    assert [d.content.decode() for d in docs] == [body]
    assert docs[0].url == "https://gitlab.com/-/snippets/3521457" and docs[0].path == "deploy.sh"
    assert docs[0].meta["author"] == "jsmith"
    cursor = batches[-1].cursor
    assert cursor["created_after"] == "2026-11-28T21:59:41Z"
    assert cursor["seen"] == ["3521457@2026-11-28T21:59:41.123Z"]  # id@created_at: kept while it can come back
    assert documents(await collect(make_source(GitlabSnippets, {}, Clock()), cursor)) == []  # seen
    assert page1.calls[-1].request.url.params["created_after"] == "2026-11-28T21:59:40Z"  # 1 s overlap


async def test_snippet_without_files_uses_its_raw_url(no_network: respx.MockRouter) -> None:
    snip = fixture_json("gitlab_snippets", "snippets_public.json")[0]
    del snip["files"]
    no_network.get(f"{API}/snippets/public").mock(return_value=httpx.Response(200, json=[snip]))
    raw = no_network.get(snip["raw_url"]).mock(return_value=httpx.Response(200, text="echo hi"))
    docs = documents(await collect(make_source(GitlabSnippets, {}, Clock()), {}))
    assert raw.called and [d.path for d in docs] == ["deploy.sh"]


async def test_throttled_429_retry_later_raises_rate_limited(no_network: respx.MockRouter) -> None:
    no_network.get(f"{API}/snippets/public").mock(return_value=httpx.Response(
        429, text=fixture_text("gitlab_snippets", "throttled.txt"),
        headers=fixture_headers("gitlab_snippets", "throttled.headers.json")))
    clock = Clock()
    with pytest.raises(RateLimited) as err:
        await collect(make_source(GitlabSnippets, {}, clock), {})
    assert err.value.retry_after == 60
    assert clock.sleeps == []
