"""pastebin against the documented scraping API fixtures."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
import respx

from crawler.kernel.errors import SourceDisabled
from sources.pastebin import Pastebin
from tests.sources.helpers import Clock, collect, documents, fixture_json, fixture_text, make_source, token

API = "https://scrape.pastebin.com"


def _mock_list(router: respx.MockRouter) -> respx.Route:
    return router.get(f"{API}/api_scraping.php").mock(
        return_value=httpx.Response(200, json=fixture_json("pastebin", "api_scraping.json")))


async def test_lists_then_fetches_each_paste_paced(no_network: respx.MockRouter) -> None:
    listing = _mock_list(no_network)
    secret = token()
    items = {
        "0CeaNm8Y": no_network.get(f"{API}/api_scrape_item.php", params={"i": "0CeaNm8Y"}).mock(
            return_value=httpx.Response(200, text=fixture_text("pastebin", "api_scrape_item.txt"))),
        "8tFYYu3v": no_network.get(f"{API}/api_scrape_item.php", params={"i": "8tFYYu3v"}).mock(
            return_value=httpx.Response(200, text=f"token={secret}")),
    }
    clock = Clock()
    batches = await collect(make_source(Pastebin, {"limit": 50, "item_delay": "1500ms"}, clock), {})
    assert listing.calls[0].request.url.params["limit"] == "50"
    assert all(r.called for r in items.values())
    docs = documents(batches)
    assert [d.key for d in docs] == ["8tFYYu3v", "0CeaNm8Y"]  # oldest first
    assert docs[0].content == f"token={secret}".encode()
    assert docs[1].url == "https://pastebin.com/0CeaNm8Y" and docs[1].meta["syntax"] == "java"
    assert clock.sleeps == [1.5]  # item_delay between the two fetches
    assert batches[-1].cursor == {"date": "1796248781", "seen": ["8tFYYu3v", "0CeaNm8Y"]}


async def test_pacing_counts_from_the_previous_fetch_start(no_network: respx.MockRouter) -> None:
    """A fetch (and the pipeline's work on its paste) that took 0.4 s leaves 0.6 s of a 1 s item_delay."""
    _mock_list(no_network)
    clock = Clock()

    def slow(request: httpx.Request) -> httpx.Response:
        clock.t += timedelta(seconds=0.4)
        return httpx.Response(200, text="nothing here")

    no_network.get(f"{API}/api_scrape_item.php").mock(side_effect=slow)
    batches = await collect(make_source(Pastebin, {"item_delay": "1s"}, clock), {})
    assert len(documents(batches)) == 2
    assert clock.sleeps == [pytest.approx(0.6)]


@pytest.mark.parametrize("where", ["listing", "item"])
async def test_ip_without_access_disables_the_source(where: str, no_network: respx.MockRouter) -> None:
    denied = httpx.Response(200, text=fixture_text("pastebin", "no_access.txt"), headers={"Content-Type": "text/html"})
    if where == "listing":
        no_network.get(f"{API}/api_scraping.php").mock(return_value=denied)
    else:
        _mock_list(no_network)
        no_network.get(f"{API}/api_scrape_item.php").mock(return_value=denied)
    yielded = []
    with pytest.raises(SourceDisabled, match="whitelisted"):
        async for batch in make_source(Pastebin, {}, Clock()).poll({}):
            yielded.append(batch)
    assert documents(yielded) == []
