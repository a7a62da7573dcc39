"""The sources' bulk transport (aiohttp under httpx) keeps every guarantee of the client factory:
the host allow-list (redirects included), the decompressed size cap, and the retry policy's view of
statuses. Real loopback server: the sandbox."""

from __future__ import annotations

import gzip
from typing import Any

import httpx
import pytest

from crawler.config.model import HttpConfig
from crawler.demo.sandbox import Sandbox
from crawler.http import allowed_hosts_for, bulk_transport, make_client, read_capped
from crawler.kernel.errors import ForbiddenURL
from crawler.kernel.serve import AppServer

pytestmark = pytest.mark.e2e


def client(sb: Sandbox, hosts: frozenset[str]) -> httpx.AsyncClient:
    transport = bulk_transport(HttpConfig())
    assert transport is not None and type(transport).__name__ == "AiohttpTransport"
    return make_client(allowed_hosts=hosts, owner="test", follow_redirects=True, transport=transport)


async def test_fetches_and_caps_documents(sb: Sandbox) -> None:
    pub = sb.publish_to("paste_sites", "x" * 5000 + "\n")
    url = pub.raw_urls[0]
    async with client(sb, allowed_hosts_for(url)) as c:
        whole = await read_capped(c, "GET", url, max_bytes=1 << 20)
        capped = await read_capped(c, "GET", url, max_bytes=1000)
    assert whole.response.status_code == 200 and whole.content.startswith(b"x" * 5000) and not whole.truncated
    assert len(capped.content) == 1000 and capped.truncated


async def test_refuses_hosts_outside_the_allow_list(sb: Sandbox) -> None:
    async with client(sb, frozenset({"example.invalid"})) as c:
        with pytest.raises(ForbiddenURL):
            await c.get(sb.url + "/robots.txt")
    assert not sb.requests("/robots.txt")  # refused before anything was sent


async def test_gzip_is_decoded_once_and_the_cap_counts_decoded_bytes() -> None:
    """aiohttp must not decompress as well (``auto_decompress=False``); the cap applies after decoding,
    so a small compressed bomb cannot grow past it."""
    body = b"leak " * 40_000  # 200 kB that compresses to a few hundred bytes
    packed = gzip.compress(body)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = [(b"content-type", b"text/plain"), (b"content-encoding", b"gzip"),
                   (b"content-length", str(len(packed)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": packed})

    async with AppServer(app) as server:  # type: ignore[arg-type]
        url = f"{server.url}/bomb"
        async with make_client(allowed_hosts=frozenset({"127.0.0.1"}), follow_redirects=True,
                               transport=bulk_transport(HttpConfig())) as c:
            whole = await read_capped(c, "GET", url, max_bytes=1 << 20)
            capped = await read_capped(c, "GET", url, max_bytes=10_000)
    assert len(packed) < 10_000 < len(body)
    assert whole.content == body and not whole.truncated
    assert capped.content == body[:10_000] and capped.truncated
