"""The sandbox answers in the documented shapes of the services it fakes (real HTTP on loopback)."""

from __future__ import annotations

import base64
import json
import re

import httpx
import pytest
from selectolax.lexbor import LexborHTMLParser

from crawler.demo.sandbox import Sandbox, SandboxThread
from crawler.plugins import build_config
from sources.fakes.github import GitHubService
from sources.fakes.gitlab import GitLabService
from sources.fakes.pastes import PastebinService, PasteSiteService

pytestmark = pytest.mark.e2e
SHA = re.compile(r"^[0-9a-f]{40}$")


async def test_events_etag_304_link_and_poll_interval(sb: Sandbox) -> None:
    gh = sb.fake(GitHubService)
    for i in range(3):
        gh.publish_push("octo/app", {f"f{i}.txt": f"line {i}\n"})
    async with httpx.AsyncClient() as c:
        first = await c.get(f"{gh.api}/events", params={"per_page": 2})
        assert first.status_code == 200
        assert re.fullmatch(r'W/"[0-9a-f]{32}"', first.headers["ETag"])
        assert first.headers["X-Poll-Interval"] == "1"
        assert first.headers["X-RateLimit-Resource"] == "core"
        assert int(first.headers["X-RateLimit-Remaining"]) == int(first.headers["X-RateLimit-Limit"]) - 1
        assert first.links["next"]["url"].endswith("/events?per_page=2&page=2")
        assert first.links["last"]["url"].endswith("page=2")

        again = await c.get(f"{gh.api}/events", params={"per_page": 2},
                            headers={"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["X-Poll-Interval"] == "1"
        assert again.headers["X-RateLimit-Remaining"] == first.headers["X-RateLimit-Remaining"]  # free

        gh.publish_push("octo/app", {"new.txt": "new\n"})
        changed = await c.get(f"{gh.api}/events", params={"per_page": 2},
                              headers={"If-None-Match": first.headers["ETag"]})
        assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]
        page2 = await c.get(first.links["next"]["url"])
    events = changed.json()
    assert events[0]["payload"]["head"] != first.json()[0]["payload"]["head"]
    push = events[0]
    assert push["type"] == "PushEvent" and push["public"] is True
    assert set(push["payload"]) == {"repository_id", "push_id", "ref", "head", "before"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", push["created_at"])
    assert push["repo"]["name"] == "octo/app" and push["repo"]["id"] == push["payload"]["repository_id"]
    assert len(page2.json()) == 2 and "next" not in page2.links and "prev" in page2.links


async def test_compare_and_new_branch_commit(sb: Sandbox) -> None:
    gh = sb.fake(GitHubService)
    gh.publish_push("octo/app", {"a.env": "A=1\n"})
    pub = gh.publish_push("octo/app", {"a.env": "A=2\n", "b.env": "B=1\n"}, removed={"gone.txt": "bye\n"})
    gh.publish_push("octo/app", {"c.txt": "branch\n"}, ref="refs/heads/feature")
    async with httpx.AsyncClient() as c:
        events = (await c.get(f"{gh.api}/events")).json()
        branch, push = events[0]["payload"], events[1]["payload"]
        assert push["head"] == pub.key and SHA.match(push["before"]) and push["before"] != "0" * 40
        cmp = (await c.get(f"{gh.api}/repos/octo/app/compare/{push['before']}...{push['head']}")).json()
        assert branch["before"] == "0" * 40 and branch["ref"] == "refs/heads/feature"
        commit = (await c.get(f"{gh.api}/repos/octo/app/commits/{branch['head']}")).json()
        missing = await c.get(f"{gh.api}/repos/octo/app/commits/{'1' * 40}")
        raw = await c.get(cmp["files"][0]["raw_url"])
    files = {f["filename"]: f for f in cmp["files"]}
    assert cmp["html_url"].endswith(f"/octo/app/compare/{push['before']}...{push['head']}")
    assert files["a.env"]["status"] == "modified" and "-A=1" in files["a.env"]["patch"]
    assert files["b.env"]["patch"] == "@@ -0,0 +1 @@\n+B=1" and files["b.env"]["additions"] == 1
    assert files["gone.txt"]["status"] == "removed" and files["gone.txt"]["patch"].endswith("-bye")
    assert {"sha", "blob_url", "raw_url", "contents_url", "changes", "deletions"} <= set(files["a.env"])
    assert cmp["total_commits"] == 1 and cmp["commits"][0]["sha"] == pub.key
    assert [f["filename"] for f in commit["files"]] == ["c.txt"] and commit["parents"]
    assert commit["html_url"].endswith(f"/commit/{branch['head']}")
    assert missing.status_code == 404 and missing.json()["message"] == "Not Found"
    assert raw.status_code == 200 and raw.text == "A=2\n"


async def test_gists_since_link_and_raw_on_same_server(sb: Sandbox) -> None:
    gh = sb.fake(GitHubService)
    pubs = [gh.publish_gist({f"g{i}.txt": f"gist {i}"}) for i in range(3)]
    async with httpx.AsyncClient() as c:
        page = await c.get(f"{gh.api}/gists/public", params={"per_page": 2})
        since = await c.get(f"{gh.api}/gists/public", params={"since": "2999-01-01T00:00:00Z"})
        gist = page.json()[0]
        raw = await c.get(gist["files"]["g2.txt"]["raw_url"])
    assert gist["id"] == pubs[2].key and gist["html_url"] == pubs[2].url
    assert gist["files"]["g2.txt"]["raw_url"].startswith(f"{gh.api}/raw/gist/")
    assert "content" not in gist["files"]["g2.txt"] and gist["truncated"] is False
    assert raw.text == "gist 2" and "next" in page.links
    assert since.json() == []


async def test_search_code_text_match_and_base64_contents(sb: Sandbox) -> None:
    gh = sb.fake(GitHubService)
    token = sb.mint(live=False)
    gh.publish_push("octo/app", {"conf/.env": f"TOKEN={token}\n"})
    gh.publish_push("octo/other", {"readme.md": "nothing here\n"})
    async with httpx.AsyncClient() as c:
        resp = await c.get(f"{gh.api}/search/code", params={"q": '"demo_live_"'},
                           headers={"Accept": "application/vnd.github.text-match+json"})
        item = resp.json()["items"][0]
        contents = (await c.get(item["url"])).json()
        blob = (await c.get(item["git_url"])).json()
        empty = await c.get(f"{gh.api}/search/code")
    assert resp.headers["X-RateLimit-Resource"] == "search"
    assert resp.json()["total_count"] == 1 and resp.json()["incomplete_results"] is False
    assert item["path"] == "conf/.env" and item["repository"]["full_name"] == "octo/app"
    match = item["text_matches"][0]
    start, end = match["matches"][0]["indices"]
    assert match["fragment"][start:end] == "demo_live_"
    assert contents["encoding"] == "base64" and base64.b64decode(contents["content"]).decode() == f"TOKEN={token}\n"
    assert contents["sha"] == item["sha"] == blob["sha"]
    assert empty.status_code == 422


async def test_gitlab_snippets_pagination_and_raw(sb: Sandbox) -> None:
    gl = sb.fake(GitLabService)
    pubs = [gl.publish({f"s{i}.py": f"x = {i}\n"}) for i in range(3)]
    async with httpx.AsyncClient() as c:
        first = await c.get(f"{gl.api_url}/snippets/public", params={"per_page": 2})
        second = await c.get(f"{gl.api_url}/snippets/public", params={"per_page": 2, "page": 2})
        since_first = await c.get(f"{gl.api_url}/snippets/public", params={"created_after": pubs[0].iso})
        later = await c.get(f"{gl.api_url}/snippets/public", params={"created_after": "2999-01-01T00:00:00Z"})
        raw = await c.get(first.json()[0]["files"][0]["raw_url"])
        gl.inject(429, retry_after=3)
        throttled = await c.get(f"{gl.api_url}/snippets/public")
    assert (first.headers["X-Next-Page"], first.headers["X-Page"], first.headers["X-Total"]) == ("2", "1", "3")
    assert second.headers["X-Next-Page"] == "" and second.headers["X-Prev-Page"] == "1"
    assert all(h in first.headers for h in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"))
    assert [s["id"] for s in first.json()] == [int(pubs[2].key), int(pubs[1].key)]
    assert re.fullmatch(r".+T\d\d:\d\d:\d\d\.\d{3}Z", first.json()[0]["created_at"])
    assert len(since_first.json()) == 3 and later.json() == [] and later.headers["X-Total"] == "0"
    assert raw.text == "x = 2\n" and first.json()[0]["web_url"] == pubs[2].url
    assert throttled.status_code == 429 and throttled.text.strip() == "Retry later"
    assert throttled.headers["Retry-After"] == "3"


async def test_pastebin_all_string_values_item_and_denied(sb: Sandbox) -> None:
    pb = sb.fake(PastebinService)
    pub = pb.publish("hello paste")
    async with httpx.AsyncClient() as c:
        listing = (await c.get(f"{pb.base_url}/api_scraping.php", params={"limit": 10})).json()
        item = await c.get(listing[0]["scrape_url"])
        pb.deny_access = True
        denied = await c.get(f"{pb.base_url}/api_scraping.php")
    entry = listing[0]
    assert set(entry) == {"scrape_url", "full_url", "date", "key", "size", "expire", "title", "syntax",
                          "user", "hits"}
    assert all(isinstance(v, str) for v in entry.values())
    assert entry["key"] == pub.key and entry["date"] == str(int(pub.published_at)) and entry["date"].isdigit()
    assert item.text == "hello paste"
    assert denied.status_code == 200 and "DOES NOT HAVE ACCESS" in denied.text
    assert denied.text.startswith("YOUR IP: 127.0.0.1 ")


async def test_paste_site_archive_selector_raw_and_robots(sb: Sandbox) -> None:
    site = sb.fake(PasteSiteService)
    pubs = [site.publish(f"paste {i}") for i in range(2)]
    async with httpx.AsyncClient() as c:
        page = await c.get(site.archive_url)
        links = [a.attributes["href"] or "" for a in LexborHTMLParser(page.text).css("td.first > a[href*='/view/']")]
        raw = await c.get(site.raw_url.format(key=links[0].rsplit("/", 1)[-1]))
        robots = await c.get(f"{sb.url}/robots.txt")
    assert page.headers["content-type"].startswith("text/html")
    assert links == [pubs[1].url, pubs[0].url]
    assert raw.text == "paste 1"
    assert robots.text.startswith("User-agent: *") and "Disallow: /pastesite/admin/" in robots.text


async def test_issuer_introspection_whoami_and_revoke(sb: Sandbox) -> None:
    live, dead = sb.mint(live=True), sb.mint(live=False)
    auth = (sb.issuer.client_id, sb.issuer.client_secret)
    url = sb.issuer.introspection_url
    async with httpx.AsyncClient() as c:
        yes = (await c.post(url, data={"token": live, "token_type_hint": "access_token"}, auth=auth)).json()
        no = (await c.post(url, data={"token": dead}, auth=auth)).json()
        bad_client = await c.post(url, data={"token": live}, auth=(sb.issuer.client_id, "wrong"))
        no_client = await c.post(url, data={"token": live})
        who = await c.get(sb.issuer.whoami_url, headers={"Authorization": f"Bearer {live}"})
        sb.issuer.revoke(live)
        after = (await c.post(url, data={"token": live}, auth=auth)).json()
        who_after = await c.get(sb.issuer.whoami_url, headers={"Authorization": f"Bearer {live}"})
    assert yes["active"] is True and {"client_id", "scope", "exp"} <= set(yes)
    assert no == {"active": False} and after == {"active": False}
    assert bad_client.status_code == 401 and bad_client.json() == {"error": "invalid_client"}
    assert no_client.status_code == 401
    assert who.status_code == 200 and who_after.status_code == 401
    assert not sb.issuer.is_live(live)
    logged = json.dumps([r.__dict__ for r in sb.requests()], default=str)
    assert live not in logged and sb.issuer.client_secret not in logged  # only the auth scheme is kept
    assert {r.headers.get("authorization") for r in sb.issuer.requests("/v1/whoami")} == {"Bearer"}


async def test_fault_injection_and_request_log(sb: Sandbox) -> None:
    gh = sb.fake(GitHubService)
    pb = sb.fake(PastebinService)
    gh.inject(429, times=2, retry_after=7, path="/events")
    pb.malformed()
    async with httpx.AsyncClient() as c:
        gists = await c.get(f"{gh.api}/gists/public")  # other routes unaffected
        limited = [await c.get(f"{gh.api}/events") for _ in range(2)]
        ok = await c.get(f"{gh.api}/events")
        broken = await c.get(f"{pb.base_url}/api_scraping.php")
        planted = await c.get(sb.planted_url("nope"))
    assert gists.status_code == 200
    assert [r.status_code for r in limited] == [429, 429] and limited[0].headers["Retry-After"] == "7"
    assert ok.status_code == 200
    with pytest.raises(ValueError):
        json.loads(broken.content)
    assert planted.status_code == 404
    assert [r.status for r in gh.requests("/events")] == [429, 429, 200]
    assert [r.path for r in sb.requests("/planted")] == ["/planted/nope"]
    times = [r.time for r in sb.requests()]
    assert times == sorted(times)


def test_sandbox_thread_and_config(tmp_path: object) -> None:
    with SandboxThread(poll_interval=1.0) as sb:
        pb = sb.fake(PastebinService)
        pub = pb.publish("from a thread")
        resp = httpx.get(f"{pb.base_url}/api_scrape_item.php", params={"i": pub.key})
        text = sb.config_toml("http://127.0.0.1:9/hook", "DEMO_WEBHOOK_SECRET", tmp_path)
        env = sb.environment()
    assert resp.text == "from a thread"
    import tomllib

    data = tomllib.loads(text)
    assert set(data["sources"]) == {"github_events", "gharchive", "github_gists", "github_search",
                                    "gitlab_snippets", "pastebin", "paste_sites"}
    assert data["rules"][0]["prefix"] == "demo_live_" and data["notifiers"][0]["on"] == ["live"]
    assert data["verifiers"][0]["client_secret_env"] in env
    token_envs = {t["token_env"] for t in data["sources"].values() if isinstance(t, dict) and "token_env" in t}
    assert token_envs == {"GITHUB_TOKEN", "GITLAB_TOKEN"} and token_envs <= set(env)
    cfg = build_config(data)  # the real config model accepts it (sources, verifier and notifier kinds)
    assert {s.name for s in cfg.source_specs} == {"github_events", "gharchive", "github_gists", "github_search",
                                                  "gitlab_snippets", "pastebin", "pastesite"}


async def test_per_service_options_reach_only_their_service() -> None:
    async with Sandbox(poll_interval=2.0, max_items=3, options={"github": {"rate_limit": 2}}) as sb:
        gh, gl = sb.fake(GitHubService), sb.fake(GitLabService)
        for i in range(5):
            gl.publish({f"s{i}.txt": "x"})
        async with httpx.AsyncClient() as c:
            statuses = [(await c.get(f"{gh.api}/gists/public")).status_code for _ in range(3)]
            snippets = await c.get(f"{gl.api_url}/snippets/public")
    assert statuses == [200, 200, 403]
    assert snippets.status_code == 200 and snippets.headers["RateLimit-Limit"] == "2000"
    assert len(snippets.json()) == 3, "max_items goes to every service"
    assert {s.poll_interval for s in sb.services.values()} == {2.0}
    with pytest.raises(ValueError, match="no fake service named 'githb'"):
        Sandbox(options={"githb": {"rate_limit": 1}})
