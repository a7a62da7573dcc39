"""A fake Pastebin scraping API and a generic HTML paste site (pastebin.pl-like).

Pastebin (pastebin.com/doc_scraping_api): ``/api_scraping.php?limit=N`` (default 50, max 250)
lists the newest pastes as JSON objects whose values are **all strings** (``date`` and ``expire``
are unix seconds as strings); ``/api_scrape_item.php?i=KEY`` returns the raw text and
``/api_scrape_item_meta.php?i=KEY`` the metadata. A non-whitelisted IP gets a plain-text HTTP 200
``YOUR IP: … DOES NOT HAVE ACCESS …`` (switch on with ``deny_access = True``).

Paste site: an archive page ``/lists`` with a table whose ``td.first > a[href*='/view/']`` links
name the newest pastes, ``/view/raw/{key}`` with the text and a ``robots.txt``.
"""

from __future__ import annotations

import html
import itertools
import random
import time
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from sources.fakes.base import Fake, SourceTable
from sources.fakes.service import Bounded, Published, Service, int_param, iso, json_response

_KEY_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
LINK_SELECTOR = "td.first > a[href*='/view/']"
DENIED = "YOUR IP: {ip} DOES NOT HAVE ACCESS. VISIT: https://pastebin.com/doc_scraping_api TO GET ACCESS!"


@dataclass
class Paste:
    key: str
    content: str
    title: str
    syntax: str
    user: str
    date: float


def _new_key(rng: random.Random, length: int = 8) -> str:
    return "".join(rng.choice(_KEY_CHARS) for _ in range(length))


class _PasteStore(Service):
    def __init__(self, *, poll_interval: float = 60.0, max_items: int = 5000) -> None:
        self.pastes: Bounded = Bounded(max_items)
        self._rng = random.Random()
        self._seq = itertools.count(1)
        super().__init__(poll_interval=poll_interval, max_items=max_items)

    def _add(self, content: str, title: str, syntax: str, user: str) -> Paste:
        with self.lock:
            key = _new_key(self._rng)
            while key in self.pastes:
                key = _new_key(self._rng)
            paste = Paste(key, content, title or f"Untitled {next(self._seq)}", syntax, user, time.time())
            self.pastes[key] = paste
        return paste

    def newest(self, limit: int) -> list[Paste]:
        with self.lock:
            return list(itertools.islice(reversed(self.pastes.values()), limit))

    def get(self, key: str) -> Paste | None:
        with self.lock:
            paste: Paste | None = self.pastes.get(key)
            return paste


class PastebinService(_PasteStore):
    """``scrape.pastebin.com``. Publish with :meth:`publish`."""

    name = "pastebin"
    prefix = "/pastebin"

    def __init__(self, *, poll_interval: float = 60.0, max_items: int = 5000) -> None:
        self.deny_access = False
        super().__init__(poll_interval=poll_interval, max_items=max_items)

    def routes(self) -> list[BaseRoute]:
        return [Route("/api_scraping.php", self.scraping), Route("/api_scrape_item.php", self.item),
                Route("/api_scrape_item_meta.php", self.item_meta)]

    def publish(self, content: str, *, title: str = "", syntax: str = "text", user: str = "") -> Published:
        paste = self._add(content, title, syntax, user)
        raw = f"{self.base_url}/api_scrape_item.php?i={paste.key}"
        return Published("pastebin", paste.key, f"{self.base_url}/{paste.key}", paste.date,
                         str(int(paste.date)), (raw,))

    def meta(self, paste: Paste) -> dict[str, str]:
        return {"scrape_url": f"{self.base_url}/api_scrape_item.php?i={paste.key}",
                "full_url": f"{self.base_url}/{paste.key}", "date": str(int(paste.date)), "key": paste.key,
                "size": str(len(paste.content.encode("utf-8", "surrogateescape"))), "expire": "0",
                "title": paste.title, "syntax": paste.syntax, "user": paste.user, "hits": "0"}

    def fault_body(self, status: int) -> tuple[bytes, str]:
        return f"{status} error".encode(), "text/html; charset=utf-8"

    def malformed_body(self, path: str) -> tuple[bytes, str]:
        return b'[{"scrape_url": "https://scrape.pastebin.com/api_scrape_item.php?i=', "application/json"

    def _denied(self, request: Request) -> Response | None:
        if not self.deny_access:
            return None
        return PlainTextResponse(DENIED.format(ip=request.client.host if request.client else "127.0.0.1"))

    async def scraping(self, request: Request) -> Response:
        limit = int_param(request, "limit", 50, hi=250)
        lang = request.query_params.get("lang")
        pastes = [p for p in self.newest(5000 if lang else limit) if not lang or p.syntax == lang][:limit]
        return self._denied(request) or json_response([self.meta(p) for p in pastes])

    async def item(self, request: Request) -> Response:
        paste = self.get(request.query_params.get("i", ""))
        if paste is None:
            return self._denied(request) or PlainTextResponse("Error, we cannot find this paste.")
        return self._denied(request) or PlainTextResponse(paste.content)

    async def item_meta(self, request: Request) -> Response:
        paste = self.get(request.query_params.get("i", ""))
        if paste is None:
            return self._denied(request) or PlainTextResponse("Error, we cannot find this paste.")
        return self._denied(request) or json_response([self.meta(paste)])


class PasteSiteService(_PasteStore):
    """A paste site with an HTML archive page, like pastebin.pl (``/lists``, ``/view/raw/{key}``)."""

    name = "paste_site"
    prefix = "/pastesite"

    def __init__(self, *, site_name: str = "pastesite", page_size: int = 50, poll_interval: float = 60.0,
                 max_items: int = 5000) -> None:
        self.site_name = site_name
        self.page_size = page_size
        self.disallow: list[str] = ["/pastesite/admin/"]
        """Paths ``robots.txt`` disallows (absolute, since robots.txt is host-wide)."""
        super().__init__(poll_interval=poll_interval, max_items=max_items)

    @property
    def archive_url(self) -> str:
        return self.base_url + "/lists"

    @property
    def raw_url(self) -> str:
        """``raw_url`` template (``{key}`` = last path segment of each archive link)."""
        return self.base_url + "/view/raw/{key}"

    def routes(self) -> list[BaseRoute]:
        return [Route("/lists", self.archive), Route("/view/raw/{key}", self.raw),
                Route("/view/{key}", self.view), Route("/robots.txt", self.robots)]

    def root_routes(self) -> list[BaseRoute]:
        """``robots.txt`` is host-wide, so the sandbox serves it at its root too."""
        return [Route("/robots.txt", self.robots)]

    def publish(self, content: str, *, title: str = "", syntax: str = "text", user: str = "") -> Published:
        paste = self._add(content, title, syntax, user)
        return Published(self.site_name, paste.key, f"{self.base_url}/view/{paste.key}", paste.date,
                         iso(paste.date), (f"{self.base_url}/view/raw/{paste.key}",))

    def fault_body(self, status: int) -> tuple[bytes, str]:
        page = f"<html><head><title>{status}</title></head><body><h1>Error {status}</h1></body></html>"
        return page.encode(), "text/html; charset=utf-8"

    def malformed_body(self, path: str) -> tuple[bytes, str]:
        # A challenge/interstitial page cut short: no archive table at all.
        return (b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body><div id=\"cf-wrap",
                "text/html; charset=utf-8")

    def robots_txt(self) -> str:
        lines = ["User-agent: *", *(f"Disallow: {p}" for p in self.disallow), ""]
        return "\n".join(lines)

    async def robots(self, request: Request) -> Response:
        return PlainTextResponse(self.robots_txt())

    async def archive(self, request: Request) -> Response:
        rows = []
        for p in self.newest(int_param(request, "limit", self.page_size, hi=500)):
            ago = max(0, int(time.time() - p.date))
            rows.append(f'<tr><td class="first"><a href="{self.base_url}/view/{p.key}">{html.escape(p.title)}</a>'
                        f"</td><td>{html.escape(p.syntax)}</td><td>{ago} sec ago</td></tr>")
        page = ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Recent pastes</title>"
                "</head><body><div class=\"container\"><h1>Recent pastes</h1>"
                "<table class=\"table table-striped\"><thead><tr><th>Title</th><th>Syntax</th><th>Added</th>"
                "</tr></thead><tbody>" + "".join(rows) + "</tbody></table></div></body></html>")
        return Response(page, media_type="text/html; charset=utf-8")

    async def view(self, request: Request) -> Response:
        paste = self.get(request.path_params["key"])
        if paste is None:
            return Response("<html><body>Not found</body></html>", 404, media_type="text/html")
        body = f"<html><body><h1>{html.escape(paste.title)}</h1><pre>{html.escape(paste.content)}</pre></body></html>"
        return Response(body, media_type="text/html; charset=utf-8")

    async def raw(self, request: Request) -> Response:
        paste = self.get(request.path_params["key"])
        if paste is None:
            return PlainTextResponse("Not found", 404)
        return PlainTextResponse(paste.content)


# ---- registry entries (joined by kind in sources.fakes.FAKES) --------------------------------------


def _pastebin_table(pb: PastebinService) -> SourceTable:
    return SourceTable({"api_url": pb.base_url}, pb.base_url)


def _site_table(site: PasteSiteService) -> SourceTable:
    values = {"name": site.site_name, "archive_url": site.archive_url, "link_selector": LINK_SELECTOR,
              "raw_url": site.raw_url}
    return SourceTable(values, site.archive_url)


def _paste(store: PastebinService | PasteSiteService, text: str, n: int, org: str) -> Published:
    return store.publish(text)


FAKES: tuple[Fake[PastebinService] | Fake[PasteSiteService], ...] = (
    Fake("pastebin", PastebinService, _pastebin_table, _paste),
    Fake("paste_sites", PasteSiteService, _site_table, _paste, multi=True),
)
