"""paste_sites: the pure archive parser on a saved page, robots.txt, options."""

from __future__ import annotations

import httpx
import pytest
import respx
from pydantic import ValidationError

from sources.paste_sites import PasteSiteOptions, PasteSites, parse_archive
from tests.sources.helpers import Clock, collect, documents, fixture_text, make_source, token

TABLE = {"name": "pastebin-pl", "archive_url": "https://pastebin.pl/lists",
         "link_selector": "td.first > a[href*='/view/']", "raw_url": "https://pastebin.pl/view/raw/{key}"}
PAGE = fixture_text("paste_sites", "lists.html").encode()


def test_parse_archive_on_a_saved_page() -> None:
    keys = parse_archive(PAGE, TABLE["link_selector"], TABLE["archive_url"])
    # sidebar/footer links, a duplicate row, another host and a non-key segment are all left out
    assert keys == ["7f3a91c2", "b04e22d9", "c9d8e7f6"]


def test_parse_archive_of_an_empty_page() -> None:
    assert parse_archive(b"<html><body><table></table></body></html>", TABLE["link_selector"],
                         TABLE["archive_url"]) == []


def test_options_validate_selector_and_template() -> None:
    opts = PasteSiteOptions.model_validate(TABLE)
    assert opts.api_url == TABLE["archive_url"]
    assert PasteSites.hosts(opts) == ("pastebin.pl",)
    with pytest.raises(ValidationError, match="selector"):
        PasteSiteOptions.model_validate({**TABLE, "link_selector": "td[["})
    with pytest.raises(ValidationError, match="key"):
        PasteSiteOptions.model_validate({**TABLE, "raw_url": "https://pastebin.pl/view/raw/"})


def _site(router: respx.MockRouter, robots: httpx.Response) -> tuple[respx.Route, dict[str, respx.Route]]:
    router.get("https://pastebin.pl/robots.txt").mock(return_value=robots)
    archive = router.get("https://pastebin.pl/lists").mock(
        return_value=httpx.Response(200, content=PAGE, headers={"Content-Type": "text/html; charset=utf-8"}))
    raws = {k: router.get(f"https://pastebin.pl/view/raw/{k}").mock(
        return_value=httpx.Response(200, text=f"{k} {token()}")) for k in ("7f3a91c2", "b04e22d9", "c9d8e7f6")}
    return archive, raws


async def test_robots_txt_is_honoured_and_paces_fetches(no_network: respx.MockRouter) -> None:
    _, raws = _site(no_network, httpx.Response(200, text=fixture_text("paste_sites", "robots.txt")))
    clock = Clock()
    batches = await collect(make_source(PasteSites, TABLE, clock), {})
    docs = documents(batches)
    assert not raws["c9d8e7f6"].called  # Disallow: /view/raw/c9d8e7f6
    assert [d.key for d in docs] == ["b04e22d9", "7f3a91c2"]  # oldest first
    assert docs[0].url == "https://pastebin.pl/view/b04e22d9" and docs[0].source == "pastebin-pl"
    assert clock.sleeps == [2.0]  # Crawl-delay: 2
    assert batches[-1].cursor == {"seen": ["b04e22d9", "7f3a91c2"]}
    again = await collect(make_source(PasteSites, TABLE, clock), batches[-1].cursor)
    assert documents(again) == [] and raws["7f3a91c2"].call_count == 1  # each paste fetched once


async def test_robots_disallowing_the_archive_fetches_nothing(no_network: respx.MockRouter) -> None:
    archive, _ = _site(no_network, httpx.Response(200, text="User-agent: *\nDisallow: /\n"))
    assert await collect(make_source(PasteSites, TABLE, Clock()), {}) == []
    assert not archive.called


async def test_robots_can_be_turned_off(no_network: respx.MockRouter) -> None:
    robots = no_network.get("https://pastebin.pl/robots.txt")
    _site(no_network, httpx.Response(200, text="User-agent: *\nDisallow: /\n"))
    docs = documents(await collect(make_source(PasteSites, {**TABLE, "respect_robots": False}, Clock()), {}))
    assert len(docs) == 3 and not robots.called
