"""github_gists against the documented ``GET /gists/public`` fixture."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from sources.github_gists import GithubGists
from tests.sources.helpers import Clock, collect, documents, fixture_headers, fixture_json, make_source, token

API = "https://api.github.com"


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_obviously_fake_test_token")


def _listing(router: respx.MockRouter) -> tuple[respx.Route, list[str]]:
    gists = fixture_json("github_gists", "gists_public.json")
    bodies = []
    for f in gists[0]["files"].values():
        body = f"# {f['filename']}\nKEY={token()}\n"
        router.get(f["raw_url"]).mock(return_value=httpx.Response(200, text=body))  # exactly the given raw_url
        bodies.append(body)
    route = router.get(f"{API}/gists/public", params={"per_page": "100"}).mock(return_value=httpx.Response(
        200, content=json.dumps(gists).encode(), headers=fixture_headers("github_gists", "gists_public.headers.json")))
    return route, bodies


async def test_files_come_from_the_given_raw_url(no_network: respx.MockRouter) -> None:
    page2 = no_network.get(f"{API}/gists/public", params={"page": "2"}).mock(return_value=httpx.Response(200, json=[]))
    _, bodies = _listing(no_network)
    batches = await collect(make_source(GithubGists, {}, Clock()), {})
    docs = documents(batches)
    assert page2.called
    assert sorted(d.content.decode() for d in docs) == sorted(bodies)
    assert {d.path for d in docs} == {"hello_world.rb", "deploy.env"}
    assert all(d.url == "https://gist.github.com/aa5a315d61ae9438b18d" for d in docs)
    assert docs[0].meta["author"] == "octocat"
    assert batches[-1].cursor["since"] == "2026-11-28T21:59:40Z"


async def test_next_poll_asks_since_the_cursor_and_skips_seen_gists(no_network: respx.MockRouter) -> None:
    route, _ = _listing(no_network)
    first = await collect(make_source(GithubGists, {"backfill_pages": 1}, Clock()), {})
    assert route.call_count == 1  # backfill_pages bounds the first poll: page 2 never asked
    again = await collect(make_source(GithubGists, {}, Clock()), first[-1].cursor)
    assert documents(again) == []
    assert route.calls[1].request.url.params["since"] == "2026-11-28T21:59:39Z"  # 1 s overlap
