"""Issue 11 on a hostile paste site: a page of deeply nested tags parsed off the event loop under a
hard time limit, an oversized archive page refused before parsing, ``Crawl-delay: 999999999``
clamped, and an archive listing 10,000 links that can no longer make tens of thousands of requests."""

from __future__ import annotations

import asyncio
import logging
import time

import httpx
import pytest
import respx

from crawler.kernel.errors import MalformedPage
from sources.paste_sites import PasteSites
from tests.sources.helpers import Clock, collect, documents, make_source, token

TABLE = {"name": "hostile-paste", "archive_url": "https://paste.hostile.example/lists",
         "link_selector": "a[href*='/view/']", "raw_url": "https://paste.hostile.example/raw/{key}"}
HTML = {"Content-Type": "text/html; charset=utf-8"}


def site(router: respx.MockRouter, page: bytes, robots: str = "") -> respx.Route:
    router.get("https://paste.hostile.example/robots.txt").mock(return_value=httpx.Response(200, text=robots))
    router.get("https://paste.hostile.example/lists").mock(return_value=httpx.Response(200, content=page,
                                                                                      headers=HTML))
    return router.get(url__regex=r"https://paste\.hostile\.example/raw/.*").mock(
        side_effect=lambda req: httpx.Response(200, text=f"{req.url.path} {token()}"))


def listing(n: int) -> bytes:
    return ("<html><body>" + "".join(f'<a href="/view/k{i:05d}">p</a>' for i in range(n))
            + "</body></html>").encode()


async def test_a_page_of_nested_tags_is_parsed_off_the_loop_and_stopped_at_its_time_limit(
        no_network: respx.MockRouter) -> None:
    depth = 150_000  # 1.65 MB; selectolax needs over a minute for it
    raw = site(no_network, b"<html><body>" + b"<div>" * depth + b'<a href="/view/abc">x</a>' + b"</div>" * depth)
    source = make_source(PasteSites, {**TABLE, "parse_time_limit": "2s"}, Clock())
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.05)
            ticks += 1

    beat = asyncio.ensure_future(ticker())
    started = time.monotonic()
    try:
        with pytest.raises(MalformedPage, match="took longer than 2s"):
            await asyncio.wait_for(collect(source, {}), 60)
    finally:
        beat.cancel()
    took = time.monotonic() - started
    assert not raw.called
    assert ticks >= took / 0.05 / 4, f"the event loop stalled: {ticks} ticks in {took:.1f}s"


async def test_an_archive_page_over_its_size_cap_is_refused_before_parsing(no_network: respx.MockRouter) -> None:
    raw = site(no_network, listing(10) + b" " * (64 * 1024))
    source = make_source(PasteSites, {**TABLE, "max_archive_bytes": 32 * 1024}, Clock())
    with pytest.raises(MalformedPage, match="max_archive_bytes"):
        await collect(source, {})
    assert not raw.called


async def test_an_endless_crawl_delay_is_clamped_and_logged(no_network: respx.MockRouter,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    site(no_network, listing(3), robots="User-agent: *\nCrawl-delay: 999999999\n")
    clock = Clock()
    docs = documents(await collect(make_source(PasteSites, TABLE, clock), {}))
    assert len(docs) == 3
    assert clock.sleeps == [60.0, 60.0]
    assert sum("Crawl-delay" in r.getMessage() and "clamped to 60s" in r.getMessage() for r in caplog.records) == 1


async def test_an_archive_of_ten_thousand_links_costs_one_bounded_round_then_nothing(
        no_network: respx.MockRouter) -> None:
    raw = site(no_network, listing(10_000))
    clock = Clock()
    table = {**TABLE, "respect_robots": False}
    first = await collect(make_source(PasteSites, table, clock), {})
    assert raw.call_count == 1000  # max_links: the newest 1000 of the page
    again = await collect(make_source(PasteSites, table, clock), first[-1].cursor)
    assert documents(again) == [] and raw.call_count == 1000  # none of them fetched twice
