"""Pastebin's scraping API: ``api_scraping.php?limit=N`` lists recent pastes (a JSON list whose
values are all strings), then ``api_scrape_item.php?i=KEY`` serves each paste's raw text.

Item fetches are paced by ``item_delay``. An IP that is not whitelisted gets HTTP 200 with the
plain text ``YOUR IP: … DOES NOT HAVE ACCESS. VISIT: https://pastebin.com/doc_scraping_api TO GET
ACCESS!``: that is a configuration problem (:class:`SourceDisabled`), never a document.

Two more HTTP 200 answers are not content either: ``File is not ready for scraping yet. Try again in
1 minute.`` (a paste listed before it can be scraped) is parked and fetched again after the minute
the service asks for, and ``Error, we cannot find this paste.`` (deleted or expired) is skipped.
Docs: https://pastebin.com/doc_scraping_api
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

from pydantic import Field

from crawler.config.model import Duration, Url
from crawler.kernel.errors import DocumentNotReady, DocumentSkipped, MalformedPage, SourceDisabled
from sources.base import (
    Batch,
    Document,
    Outcome,
    Shape,
    Skip,
    Source,
    SourceOptions,
    fetch_raw,
    guard,
    item_key,
    parse_time,
    remember,
    seen_list,
    validate,
    validate_items,
)

logger = logging.getLogger(__name__)
SEEN = 2000
NO_ACCESS = b"DOES NOT HAVE ACCESS"
NOT_READY = b"File is not ready for scraping yet"
NOT_READY_WAIT = 60.0  # "Try again in 1 minute."
NOT_FOUND = b"Error, we cannot find this paste."


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
    title: str | None = ""
    syntax: str | None = ""
    user: str | None = ""


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
        pastes, skipped = await self._list(f"{base}/api_scraping.php")
        if skipped:  # items of the listing that could not be read: counted, the rest goes on
            yield Batch([], dict(cursor), skipped=skipped)
        last_fetch = None
        for paste in sorted(reversed(pastes), key=lambda p: int(p.date)):  # oldest first
            if paste.key in known or int(paste.date) < newest:
                continue
            if last_fetch is not None:  # item_delay from the previous fetch's start: the time it took
                waited = (self.ctx.now() - last_fetch).total_seconds()  # (and its processing) counts
                await self.ctx.sleep(max(0.0, self.options.item_delay - waited))
            last_fetch = self.ctx.now()
            outcome = await self._guarded(paste)
            known.add(paste.key)
            seen = remember(seen, [paste.key], SEEN)
            newest = max(newest, int(paste.date))
            yield outcome.batch({"date": str(newest), "seen": seen})

    async def refetch(self, key: str, ref: Mapping[str, Any]) -> Outcome:
        if ref.get("kind") == "paste":
            return await self._guarded(validate(self.ctx.name, Paste, ref.get("paste"), "parked paste"))
        return await super().refetch(key, ref)

    async def _guarded(self, paste: Paste) -> Outcome:
        url = f"{self.options.api_url.rstrip('/')}/api_scrape_item.php?i={paste.key}"
        ref = {"kind": "paste", "paste": paste.model_dump()}
        return await guard(self.ctx, paste.key, ref, functools.partial(self._document, url, paste))

    async def _list(self, url: str) -> tuple[list[Paste], list[Skip]]:
        self.ctx.page(url)  # the one listing page of a poll
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
        return validate_items(self.ctx.name, Paste, data, "paste list", item_key("key", "scrape_url"))

    async def _document(self, url: str, paste: Paste) -> Outcome:
        body = await fetch_raw(self.ctx, url)
        head = body.content[:512].strip()
        if head.startswith(b"YOUR IP") and NO_ACCESS in head:
            raise SourceDisabled(self.ctx.name, "this IP is not whitelisted for the scraping API "
                                 "(see https://pastebin.com/doc_scraping_api)")
        if head.startswith(NOT_READY):
            raise DocumentNotReady(self.ctx.name, NOT_READY_WAIT, f"paste {paste.key} is not ready for scraping yet")
        if head == NOT_FOUND:
            raise DocumentSkipped(self.ctx.name, "gone", f"paste {paste.key}: {NOT_FOUND.decode()}")
        return Outcome((Document(url=paste.full_url, content=body.content, source=self.ctx.name, key=paste.key,
                                 published_at=parse_time(paste.date), truncated=body.truncated,
                                 meta={"paste_key": paste.key, "title": paste.title or "",
                                       "syntax": paste.syntax or "", "author": paste.user or ""}),))
