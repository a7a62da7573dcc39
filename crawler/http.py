"""The one ``httpx.AsyncClient`` factory: timeouts, limits, User-Agent, redirects, size caps.

Sources, verifiers and notifiers receive a client built here and never call ``httpx.get`` themselves.
A source's client refuses (before sending) any request to a host outside its allow-list, redirects
included, so leakpatrol never follows a URL found inside a document. Credentials stay home: on a
redirect to another origin (scheme, host, port) every credential header (:data:`CREDENTIAL_HEADERS`:
``Authorization``, GitLab's ``PRIVATE-TOKEN``, API-key headers, cookies) is dropped, not only the
``Authorization`` httpx drops itself.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from crawler import __version__
from crawler.config.model import HttpConfig, is_loopback_host
from crawler.kernel.errors import ForbiddenURL

logger = logging.getLogger(__name__)
USER_AGENT = f"leakpatrol/{__version__}"
CREDENTIAL_HEADERS = frozenset({
    "authorization", "proxy-authorization", "cookie", "private-token", "job-token", "deploy-token",
    "x-api-key", "api-key", "x-auth-token", "x-access-token",
})
"""Headers that carry a credential; none of them is sent on to another origin by a redirect."""


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default = {"https": 443, "http": 80}.get(url.scheme)
    return url.scheme, (url.host or "").lower(), url.port or default


class Client(httpx.AsyncClient):
    """httpx's client, dropping every credential header on a redirect to another origin."""

    def _redirect_headers(self, request: httpx.Request, url: httpx.URL, method: str) -> httpx.Headers:
        headers = super()._redirect_headers(request, url, method)
        if _origin(url) != _origin(request.url):
            dropped = [name for name in CREDENTIAL_HEADERS if name in headers]
            for name in dropped:
                del headers[name]
            if dropped:
                logger.info("redirect to %s: %s not sent on to another origin", url.copy_with(query=None),
                            ", ".join(sorted(dropped)))
        return headers


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def allowed_hosts_for(api_url: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """The API host plus the source's known raw-content hosts (``extra``)."""
    return frozenset({host_of(api_url), *(h.lower() for h in extra)})


def _guard(source: str, allowed: frozenset[str]) -> object:
    async def check(request: httpx.Request) -> None:
        host = (request.url.host or "").lower()
        if host not in allowed:
            raise ForbiddenURL(source, str(request.url.copy_with(query=None)))
        if request.url.scheme != "https" and not is_loopback_host(host):
            raise ForbiddenURL(source, str(request.url.copy_with(query=None)),
                               f"the scheme is {request.url.scheme}; only https is fetched from "
                               f"non-loopback hosts (the host {host} itself is allowed)")

    return check


def bulk_transport(cfg: HttpConfig) -> httpx.AsyncBaseTransport | None:
    """The transport for the sources' bulk document fetches: aiohttp's HTTP/1.1 client (through
    ``httpx-aiohttp``) costs about a third of httpcore's CPU per request, which is what a crawler
    spends its time on. ``[http] transport = "httpcore"`` keeps httpx's own. ``None`` = httpx default."""
    if cfg.transport != "aiohttp":
        return None
    from httpx_aiohttp import AiohttpTransport

    limits = httpx.Limits(max_connections=cfg.max_connections_per_host,
                          max_keepalive_connections=cfg.max_connections_per_host)
    return AiohttpTransport(limits=limits, trust_env=False)


def make_client(
    cfg: HttpConfig | None = None,
    *,
    allowed_hosts: frozenset[str] | None = None,
    owner: str = "leakpatrol",
    follow_redirects: bool = False,
    headers: Mapping[str, str] | None = None,
    timeout: float | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """Build a client. ``allowed_hosts`` set → every request (and redirect) is checked against it."""
    cfg = cfg or HttpConfig()
    hooks: dict[str, list[object]] = {"request": [], "response": []}
    if allowed_hosts is not None:
        hooks["request"].append(_guard(owner, allowed_hosts))
    read = timeout if timeout is not None else cfg.read_timeout
    return Client(
        headers={"User-Agent": USER_AGENT, **(headers or {})},
        timeout=httpx.Timeout(read, connect=min(cfg.connect_timeout, read)),
        limits=httpx.Limits(max_connections=cfg.max_connections_per_host,
                            max_keepalive_connections=cfg.max_connections_per_host),
        follow_redirects=follow_redirects,
        max_redirects=3,
        event_hooks=hooks,  # type: ignore[arg-type]
        transport=transport,
        trust_env=False,
    )


@dataclass(frozen=True)
class Body:
    """A response body read under a cap. ``truncated`` → the rest was never read."""

    response: httpx.Response
    content: bytes
    truncated: bool


async def read_capped(client: httpx.AsyncClient, method: str, url: str, *, max_bytes: int,
                      **kwargs: object) -> Body:
    """Stream a response, keeping at most ``max_bytes`` of *decompressed* content."""
    async with client.stream(method, url, **kwargs) as resp:  # type: ignore[arg-type]
        chunks: list[bytes] = []
        size, truncated = 0, False
        async for chunk in resp.aiter_bytes():
            if size + len(chunk) > max_bytes:
                chunks.append(chunk[: max_bytes - size])
                truncated = True
                break
            chunks.append(chunk)
            size += len(chunk)
        return Body(resp, b"".join(chunks), truncated)
