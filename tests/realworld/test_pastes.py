"""GitLab snippets, Pastebin and an HTML paste site on recorded real answers: GitLab's documented
examples, the scraping API's item and its non-content answers as real scrapers handle them
(pastepwn), and pastebin.com's archive page as a scraper's authors saved it."""

from __future__ import annotations

import json

import pytest
import respx

from crawler.kernel.errors import SourceDisabled
from sources.gitlab_snippets import GitlabSnippets
from sources.paste_sites import PasteSites
from sources.pastebin import Pastebin
from tests.realworld.helpers import found, parked, skipped
from tests.realworld.replay import load, planted, serve
from tests.sources.helpers import Clock, collect, documents, make_source, token

PUBLIC = load("gitlab_snippets.public")
WITH_FILES = load("gitlab_snippets.snippet_with_files")
RAW = load("gitlab_snippets.raw")


async def test_gitlabs_documented_http_raw_urls_are_skipped_naming_the_scheme_not_the_host() -> None:
    with respx.mock(assert_all_called=False) as router:
        router.get("https://example.com/api/v4/snippets/public").mock(return_value=PUBLIC.response())
        batches = await collect(make_source(GitlabSnippets, {"api_url": "https://example.com/api/v4",
                                                            "token_env": "NO_SUCH_ENV"}, Clock()), {})
    skips = skipped(batches)
    assert [s.reason for s in skips] == ["forbidden_url", "forbidden_url"]
    assert all("scheme is http" in s.detail and "host is not" not in s.detail for s in skips)
    assert batches[-1].cursor["created_after"] == "2016-11-25T16:53:34Z"  # the poll moved on


async def test_a_documented_snippet_with_files_is_read_with_the_token_kept_on_its_instance(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITLAB_TOKEN", "glpat-not-a-real-one")
    tok = token()
    api = "https://gitlab.example.com/api/v4"
    snippet = WITH_FILES.json()
    with respx.mock(assert_all_called=False) as router:
        router.get(f"{api}/snippets/public").mock(return_value=PUBLIC.response(data=[snippet]))
        raw = serve(router, snippet["files"][0]["raw_url"], RAW.response(planted(RAW.body, tok)))
        batches = await collect(make_source(GitlabSnippets, {"api_url": api}, Clock()), {})
    assert found(documents(batches)) == {tok}
    assert raw.calls.last.request.headers["PRIVATE-TOKEN"] == "glpat-not-a-real-one"
    assert documents(batches)[0].url == snippet["web_url"]


SCRAPING = load("pastebin.scraping")
PASTEBIN = "https://scrape.pastebin.com"


def scraping(router: respx.MockRouter) -> str:
    router.get(f"{PASTEBIN}/api_scraping.php").mock(return_value=SCRAPING.response())
    key: str = SCRAPING.json()[0]["key"]
    return key


async def test_a_not_ready_paste_is_parked_for_the_minute_pastebin_asks_then_read() -> None:
    tok = token()
    with respx.mock(assert_all_called=False) as router:
        key = scraping(router)
        serve(router, f"{PASTEBIN}/api_scrape_item.php?i={key}", load("pastebin.not_ready").response(),
              SCRAPING.response(planted("int main() {}\n", tok), status=200))
        source = make_source(Pastebin, {}, Clock())
        batches = await collect(source, {})
        [park] = parked(batches)
        assert documents(batches) == []  # never stored as the paste's content
        assert (park.reason, park.retry_after) == ("not_ready", 60.0)
        assert batches[-1].cursor["seen"] == [key]
        again = await source.refetch(park.key, json.loads(json.dumps(park.ref)))
    assert found(list(again.documents)) == {tok}
    assert again.documents[0].url == SCRAPING.json()[0]["full_url"]


async def test_a_paste_pastebin_cannot_find_is_skipped_never_a_document() -> None:
    with respx.mock(assert_all_called=False) as router:
        key = scraping(router)
        serve(router, f"{PASTEBIN}/api_scrape_item.php?i={key}", load("pastebin.not_found").response())
        batches = await collect(make_source(Pastebin, {}, Clock()), {})
    assert documents(batches) == [] and parked(batches) == []
    assert [(s.key, s.reason) for s in skipped(batches)] == [(key, "gone")]


async def test_the_not_whitelisted_answer_is_a_configuration_problem() -> None:
    with respx.mock(assert_all_called=False) as router:
        router.get(f"{PASTEBIN}/api_scraping.php").mock(return_value=load("pastebin.no_access").response())
        with pytest.raises(SourceDisabled, match="whitelisted"):
            await collect(make_source(Pastebin, {}, Clock()), {})


ARCHIVE = load("paste_sites.pastebin_archive")
SITE = {"name": "pastebin-com", "archive_url": "https://pastebin.com/archive",
        "link_selector": "table.maintable td:first-child > a", "raw_url": "https://pastebin.com/raw/{key}"}


async def test_the_recorded_pastebin_archive_page_yields_every_paste_and_a_gone_one_is_skipped() -> None:
    tokens = {}
    with respx.mock(assert_all_called=False) as router:
        router.get("https://pastebin.com/robots.txt").mock(return_value=ARCHIVE.response("Not Found", status=404))
        router.get(SITE["archive_url"]).mock(return_value=ARCHIVE.response())
        keys = ["6ryvL9V2", "jWHZjpCC", "Lg2LV0a0"]
        serve(router, SITE["raw_url"].format(key=keys[1]), ARCHIVE.response("Not Found", status=404))
        for key in (keys[0], keys[2]):
            tokens[key] = token()
            serve(router, SITE["raw_url"].format(key=key), ARCHIVE.response(planted("paste\n", tokens[key])))
        router.get(url__regex=r"https://pastebin\.com/raw/.*").mock(return_value=ARCHIVE.response("x", status=200))
        batches = await collect(make_source(PasteSites, SITE, Clock()), {})
    assert found(documents(batches)) == set(tokens.values())
    assert [(s.key, s.reason) for s in skipped(batches)] == [(keys[1], "gone")]
    seen = batches[-1].cursor["seen"]
    assert set(keys) <= set(seen) and not any("/" in k or k == "typescript" for k in seen)
