"""Pastebin's scraping API: ``api_scraping.php?limit=N`` lists recent pastes (a JSON list whose
values are all strings), then ``api_scrape_item.php?i=KEY`` serves each paste's raw text.

Item fetches are paced by ``item_delay``. An IP that is not whitelisted gets HTTP 200 with the
plain text ``YOUR IP: … DOES NOT HAVE ACCESS. VISIT: https://pastebin.com/doc_scraping_api TO GET
ACCESS!``: that is a configuration problem (:class:`SourceDisabled`), never a document.
Docs: https://pastebin.com/doc_scraping_api
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

from pydantic import Field

from crawler.config.model import Duration, Url
from crawler.kernel.errors import MalformedPage, SourceDisabled
from sources.base import (
    Batch,
    Document,
    Shape,
    Source,
    SourceOptions,
    fetch_raw,
    parse_time,
    remember,
    seen_list,
    validate,
)

logger = logging.getLogger(__name__)
SEEN = 2000
NO_ACCESS = b"DOES NOT HAVE ACCESS"


class PastebinOptions(SourceOptions):
    api_url: Url = "https://scrape.pastebin.com"
    limit: int = Field(100, ge=1, le=250)
    """Pastes listed per poll (the API allows up to 250)."""
    item_delay: Duration = 1.0
    """Time between the starts of two paste fetches (the time a fetch and its processing took is
    part of it)."""


class Paste(Shape):
    key: str = Field(pattern=r"^[A-Za-z0-9]{1,32}$")  # alphanumeric keys only: it goes into a URL
    date: str = Field(pattern=r"^[0-9]{1,12}$")  # epoch seconds, as a string like every value
    full_url: str
    title: str = ""
    syntax: str = ""
    user: str = ""
    size: str = ""


class Pastebin(Source):
    """Recent pastes newer than the cursor; one batch per paste."""

    name = "pastebin"
    Options = PastebinOptions
    options: PastebinOptions

    async def poll(self, cursor: Mapping[str, Any]) -> AsyncIterator[Batch]:
        seen = seen_list(cursor)
        known = set(seen)
        stored = str(cursor.get("date", ""))
        newest = int(stored) if stored.isdigit() else 0
        base = self.options.api_url.rstrip("/")
        pastes = await self._list(f"{base}/api_scraping.php")
        last_fetch = None
        for paste in sorted(reversed(pastes), key=lambda p: int(p.date)):  # oldest first
            if paste.key in known or int(paste.date) < newest:
                continue
            if last_fetch is not None:  # item_delay from the previous fetch's start: the time it took
                waited = (self.ctx.now() - last_fetch).total_seconds()  # (and its processing) counts
                await self.ctx.sleep(max(0.0, self.options.item_delay - waited))
            last_fetch = self.ctx.now()
            doc = await self._document(f"{base}/api_scrape_item.php?i={paste.key}", paste)
            known.add(paste.key)
            seen = remember(seen, [paste.key], SEEN)
            newest = max(newest, int(paste.date))
            yield Batch([doc] if doc else [], {"date": str(newest), "seen": seen})

    async def _list(self, url: str) -> list[Paste]:
        body = await self.ctx.request(url, params={"limit": self.options.limit})
        if NO_ACCESS in body.content[:512]:
            raise SourceDisabled(self.ctx.name, "this IP is not whitelisted for the scraping API "
                                 "(see https://pastebin.com/doc_scraping_api)")
        status = body.response.status_code
        if not 200 <= status < 300 or body.truncated:
            raise MalformedPage(self.ctx.name, f"HTTP {status} from {url}")
        try:
            data = json.loads(body.content)
        except (ValueError, UnicodeDecodeError):
            raise MalformedPage(self.ctx.name, f"{url} did not return JSON") from None
        return validate(self.ctx.name, list[Paste], data, "paste list")

    async def _document(self, url: str, paste: Paste) -> Document | None:
        body = await fetch_raw(self.ctx, url)
        if body is None:
            return None
        if body.content.startswith(b"YOUR IP") and NO_ACCESS in body.content[:512]:
            raise SourceDisabled(self.ctx.name, "this IP is not whitelisted for the scraping API "
                                 "(see https://pastebin.com/doc_scraping_api)")
        return Document(url=paste.full_url, content=body.content, source=self.ctx.name, key=paste.key,
                        published_at=parse_time(paste.date), truncated=body.truncated,
                        meta={"paste_key": paste.key, "title": paste.title, "syntax": paste.syntax,
                              "author": paste.user})
