"""github_events against the documented fixtures (events, compare, commit)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx

from sources.github_events import GithubEvents
from tests.sources.helpers import Clock, collect, documents, fixture_headers, fixture_json, make_source, token

API = "https://api.github.com"
BASE, HEAD = "6dcb09b5b57875f334f61aebed695e2e4193db5e", "7638417db6d59f3c431d3e1f261cc637155684cd"
ETAG = 'W/"a18c3bded88eb5dbb5c849a489412bf3"'


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_obviously_fake_test_token")


def _json(data: object, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(200, content=json.dumps(data).encode(), headers=headers or {})


async def test_push_event_becomes_one_patch_document_per_file(no_network: respx.MockRouter) -> None:
    secret = token()
    compare = fixture_json("github_events", "compare.json")
    compare["files"][0]["patch"] = compare["files"][0]["patch"].replace("replace-me-at-deploy", secret)
    page2 = no_network.get(f"{API}/events", params={"page": "2"}).mock(return_value=_json([]))  # matched first
    page1 = no_network.get(f"{API}/events", params={"per_page": "100"}).mock(
        return_value=_json(fixture_json("github_events", "events.json"),
                           fixture_headers("github_events", "events.headers.json")))
    no_network.get(f"{API}/repos/octocat/Hello-World/compare/{BASE}...{HEAD}").mock(
        return_value=_json(compare, fixture_headers("github_events", "compare.headers.json")))
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    raw = no_network.get(compare["files"][1]["raw_url"]).mock(return_value=httpx.Response(200, content=png))
    clock = Clock()
    src = make_source(GithubEvents, {}, clock)

    batches = await collect(src, {})

    assert page1.called and page2.called  # Link: rel="next" followed
    sent = page1.calls[0].request.headers
    assert sent["Authorization"] == "Bearer ghp_obviously_fake_test_token"
    assert sent["Accept"] == "application/vnd.github+json"
    docs = {d.path: d for d in documents(batches)}
    assert set(docs) == {"config/deploy.env", "assets/logo.png", "old/secrets.txt"}
    env = docs["config/deploy.env"]
    assert env.is_patch and secret.encode() in env.content and b"-API_KEY=changeme" in env.content
    assert env.url == compare["html_url"]
    assert env.meta["repo"] == "octocat/Hello-World" and env.meta["commit"] == HEAD
    assert env.published_at == datetime(2026, 11, 28, 21, 59, 30, tzinfo=UTC)
    assert b"-password=hunter2" in docs["old/secrets.txt"].content  # removed lines were public too
    assert raw.called and docs["assets/logo.png"].content == png and not docs["assets/logo.png"].is_patch
    final = batches[-1].cursor
    assert final["etag"] == ETAG  # weak form kept exactly
    assert set(final["seen"]) == {"51234567891", "51234567892", "51234567893"}
    assert src.not_before == clock.now() + timedelta(seconds=60)


async def test_stored_weak_etag_is_sent_and_304_yields_nothing(no_network: respx.MockRouter) -> None:
    route = no_network.get(f"{API}/events", headers={"If-None-Match": ETAG}).mock(
        return_value=httpx.Response(304, headers={"X-Poll-Interval": "120", "ETag": ETAG}))
    clock = Clock()
    src = make_source(GithubEvents, {}, clock)
    assert await collect(src, {"etag": ETAG, "seen": ["1"]}) == []
    assert route.call_count == 1
    assert src.not_before == clock.now() + timedelta(seconds=120)


async def test_new_branch_reads_the_commit_and_pages_its_files(no_network: respx.MockRouter) -> None:
    event = copy.deepcopy(fixture_json("github_events", "events.json")[0])
    event["payload"]["before"] = "0" * 40
    commit = fixture_json("github_events", "commit.json")
    page2 = copy.deepcopy(commit)
    page2["files"] = [{**commit["files"][0], "filename": "src/extra.py", "patch": f"@@ -0,0 +1 @@\n+K={token()}"}]
    no_network.get(f"{API}/events").mock(return_value=_json([event]))
    no_network.get(f"{API}/repos/octocat/Hello-World/commits/{HEAD}").mock(
        return_value=_json(commit, fixture_headers("github_events", "commit.headers.json")))
    nxt = no_network.get(f"https://api.github.com/repositories/1296269/commits/{HEAD}", params={"page": "2"}).mock(
        return_value=_json(page2))
    docs = documents(await collect(make_source(GithubEvents, {}, Clock()), {}))
    assert nxt.called
    assert [d.path for d in docs] == ["src/settings.py", "src/extra.py"]
    assert all(d.url == commit["html_url"] for d in docs)


async def test_compare_with_300_files_is_read_commit_by_commit(no_network: respx.MockRouter) -> None:
    compare = fixture_json("github_events", "compare.json")
    compare["files"] = [{**compare["files"][0], "filename": f"f{i}.txt"} for i in range(300)]
    commit = fixture_json("github_events", "commit.json")
    no_network.get(f"{API}/events").mock(return_value=_json([fixture_json("github_events", "events.json")[0]]))
    no_network.get(f"{API}/repos/octocat/Hello-World/compare/{BASE}...{HEAD}").mock(return_value=_json(compare))
    per_commit = no_network.get(f"{API}/repos/octocat/Hello-World/commits/{HEAD}").mock(return_value=_json(commit))
    docs = documents(await collect(make_source(GithubEvents, {}, Clock()), {}))
    assert per_commit.called
    assert [d.path for d in docs] == ["src/settings.py"]


async def test_push_payload_without_head_is_skipped_alone(no_network: respx.MockRouter) -> None:
    event = copy.deepcopy(fixture_json("github_events", "events.json")[0])
    del event["payload"]["head"]
    no_network.get(f"{API}/events").mock(return_value=_json([event]))
    batches = await collect(make_source(GithubEvents, {}, Clock()), {})
    skipped = [s for b in batches for s in b.skipped]
    assert [(s.reason, "payload" in s.detail) for s in skipped] == [("invalid", True)]
    assert batches[-1].cursor["seen"] == [event["id"]]  # the cursor moves past it
