"""Any paste site with an HTML "recent pastes" page, configured as ``[[sources.paste_sites]]``.

The archive page is parsed with selectolax and ``link_selector``; each link's last path segment is
the paste key, and the content comes from ``raw_url`` with ``{key}`` filled in. Only the archive
page and the raw URLs are fetched (a link is never followed), ``robots.txt`` is honoured
(RFC 9309: 4xx = no rules, 5xx = stay away; ``Crawl-delay`` paces the raw fetches, at most
``[http] max_crawl_delay``), and a bounded seen-list in the cursor fetches each paste once.

A hostile archive page cannot freeze the daemon: it is refused above ``max_archive_bytes`` before
parsing, parsed in a worker process under ``parse_time_limit`` (:mod:`crawler.kernel.isolate`), and
only its first ``max_links`` links are taken (never more than the seen-list holds, so no link is
fetched twice for having fallen out of it).
"""

from __future__ import annotations

import functools
import logging
import re
import urllib.robotparser
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

from pydantic import Field, field_validator, model_validator
from selectolax.lexbor import LexborHTMLParser, SelectolaxError

from crawler.config.model import Duration, Url
from crawler.http import host_of
from crawler.kernel.errors import MalformedPage
from crawler.kernel.isolate import WorkFailed, WorkTimedOut, shared_pool
from crawler.kernel.retry import clamp_wait
from sources.base import (
    Batch,
    Source,
    SourceContext,
    SourceOptions,
    guard,
    raw_document,
    raw_ref,
    remember,
    seen_list,
)

logger = logging.getLogger(__name__)
SEEN = 5000
ROBOTS_AGENT = "leakpatrol"
KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")  # one plain path segment: a key can never steer raw_url elsewhere


class PasteSiteOptions(SourceOptions):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    """The source name stored with each sighting (and sent in webhooks)."""
    archive_url: Url
    link_selector: str
    raw_url: Url
    """Raw content URL with ``{key}``, e.g. ``https://pastebin.pl/view/raw/{key}``."""
    respect_robots: bool = True
    interval: Duration = 120.0
    max_archive_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    """An archive page larger than this is refused before it is parsed (the poll fails, with back-off)."""
    max_links: int = Field(default=1000, ge=1, le=SEEN)
    """Links taken from one archive page (newest first); at most the seen-list's 5000."""
    parse_time_limit: Duration = Field(default=10.0, gt=0)
    """Hard limit on parsing one archive page (in a worker process, replaced when it is hit)."""

    @model_validator(mode="before")
    @classmethod
    def _api_url(cls, data: Any) -> Any:
        """``api_url`` is not written for a paste site: it is the archive page."""
        if isinstance(data, dict) and "api_url" not in data and "archive_url" in data:
            return {**data, "api_url": data["archive_url"]}
        return data

    @field_validator("link_selector")
    @classmethod
    def _selector(cls, value: str) -> str:
        try:
            LexborHTMLParser("<p></p>").css(value)
        except (SelectolaxError, ValueError):
            raise ValueError(f"{value!r} is not a CSS selector selectolax can use") from None
        return value

    @field_validator("raw_url")
    @classmethod
    def _template(cls, value: str) -> str:
        if "{key}" not in value or "{key}" in (urlsplit(value).hostname or ""):
            raise ValueError("raw_url must contain {key} in its path or query")
        return value


def archive_links(html: bytes, selector: str, base_url: str) -> list[tuple[str, str]]:
    """``(key, absolute link)`` for each paste linked from an archive page, page order, no repeats.

    Links to another host, and last path segments that are not a plain key, are ignored.
    """
    tree = LexborHTMLParser(html)
    out: dict[str, str] = {}
    for node in tree.css(selector):
        href = (node.attributes.get("href") or "").strip()
        link = urljoin(base_url, href) if href else ""
        parts = urlsplit(link)
        if not href or (parts.hostname or "").lower() != host_of(base_url):
            continue
        key = parts.path.rstrip("/").rsplit("/", 1)[-1]
        if KEY.fullmatch(key) and key not in out:
            out[key] = link
    return list(out.items())


def parse_archive(html: bytes, selector: str, base_url: str) -> list[str]:
    """The paste keys an archive page links to (pure; tested on saved pages)."""
    return [key for key, _ in archive_links(html, selector, base_url)]


class Robots:
    """``robots.txt`` per host, fetched once per poll through the source's context."""

    def __init__(self, ctx: SourceContext) -> None:
        self.ctx, self.parsers = ctx, dict[str, urllib.robotparser.RobotFileParser]()
        self.delays: dict[str, float] = {}

    async def parser(self, url: str) -> urllib.robotparser.RobotFileParser:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self.parsers:
            rp = urllib.robotparser.RobotFileParser()
            body = await self.ctx.request(f"{origin}/robots.txt", max_bytes=512 * 1024)
            status = body.response.status_code
            if 200 <= status < 300:
                rp.parse(body.content.decode("utf-8", "replace").splitlines())
            elif 400 <= status < 500:
                rp.parse([])  # RFC 9309 2.3.1.3: "unavailable" means no rules
            else:
                rp.parse(["User-agent: *", "Disallow: /"])  # RFC 9309 2.3.1.4: "unreachable" = stay away
            self.parsers[origin] = rp
        return self.parsers[origin]

    async def allowed(self, url: str) -> bool:
        return (await self.parser(url)).can_fetch(ROBOTS_AGENT, url)

    async def delay(self, url: str) -> float:
        """The ``Crawl-delay`` for ``url``'s host, clamped to ``max_crawl_delay`` (logged once per poll)."""
        host = urlsplit(url).netloc
        if host not in self.delays:
            value = (await self.parser(url)).crawl_delay(ROBOTS_AGENT)
            asked = float(value) if value else 0.0
            self.delays[host] = clamp_wait(asked, self.ctx.max_crawl_delay, self.ctx.name,
                                           f"robots.txt of {host} (Crawl-delay)")
        return self.delays[host]


class PasteSites(Source):
    """One configured paste site: new keys on its archive page, each fetched once from ``raw_url``."""

    name = "paste_sites"
    Options = PasteSiteOptions
    multi = True
    options: PasteSiteOptions

    @classmethod
    def hosts(cls, options: SourceOptions) -> tuple[str, ...]:
        assert isinstance(options, PasteSiteOptions)
        return tuple(options.allowed_hosts) or tuple(
            dict.fromkeys((host_of(options.archive_url), host_of(options.raw_url.format(key="k")))))

    async def poll(self, cursor: Mapping[str, Any]) -> AsyncIterator[Batch]:
        seen, opts = seen_list(cursor), self.options
        known = set(seen)
        robots = Robots(self.ctx) if opts.respect_robots else None
        if robots and not await robots.allowed(opts.archive_url):
            logger.warning("%s: robots.txt disallows %s; nothing fetched", self.ctx.name, opts.archive_url)
            return
        links = await self._links(await self._archive())
        fetched = 0
        for key, link in reversed(links):  # oldest first
            raw = opts.raw_url.format(key=key)
            if key in known or (robots and not await robots.allowed(raw)):
                continue
            delay = await robots.delay(raw) if robots else 0.0
            if fetched and delay:
                await self.ctx.sleep(delay)
            fetched += 1
            ref = raw_ref(raw, link, key=key, meta={"paste_key": key})
            outcome = await guard(self.ctx, key, ref, functools.partial(raw_document, self.ctx, ref))
            known.add(key)
            seen = remember(seen, [key], SEEN)
            yield outcome.batch({"seen": seen})

    async def _links(self, html: bytes) -> list[tuple[str, str]]:
        """The archive page's newest ``max_links`` links, parsed in a worker under the time limit."""
        opts = self.options
        try:
            links = await shared_pool().run(archive_links, html, opts.link_selector, opts.archive_url,
                                            limit=opts.parse_time_limit, what=f"parsing {opts.archive_url}")
        except (WorkTimedOut, WorkFailed) as exc:
            raise MalformedPage(self.ctx.name, str(exc)) from None
        if len(links) > opts.max_links:
            logger.warning("%s: %s lists %d pastes; only the first %d are taken", self.ctx.name,
                           opts.archive_url, len(links), opts.max_links)
        return links[: opts.max_links]

    async def _archive(self) -> bytes:
        url = self.options.archive_url
        self.ctx.page(url)  # the one listing page of a poll
        body = await self.ctx.request(url, max_bytes=self.options.max_archive_bytes)
        status, ctype = body.response.status_code, body.response.headers.get("Content-Type", "text/html")
        if not 200 <= status < 300:
            raise MalformedPage(self.ctx.name, f"HTTP {status} from {url}")
        if "html" not in ctype.lower():
            raise MalformedPage(self.ctx.name, f"{url} is {ctype}, not an HTML page")
        if body.truncated:
            raise MalformedPage(self.ctx.name, f"{url} is larger than max_archive_bytes "
                                               f"({self.options.max_archive_bytes} bytes); not parsed")
        return body.content
