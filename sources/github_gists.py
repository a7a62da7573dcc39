"""GitHub public gists: ``GET /gists/public?since=…`` (paged by ``Link``), then each file's content
from the ``raw_url`` **given in the response** (never a constructed one).

The listing omits file contents; ``raw_url`` serves the whole file, read under
``max_document_bytes`` (larger files are cut there and flagged truncated). A gist whose top-level
``truncated`` is true lists only its first 300 files. Docs:
https://docs.github.com/en/rest/gists/gists#list-public-gists
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import Field

from crawler.config.model import Url, secret
from crawler.kernel.clock import iso
from sources.base import (
    Batch,
    Listing,
    Outcome,
    SeenWindow,
    Shape,
    Skip,
    Source,
    TokenSourceOptions,
    guard,
    item_key,
    next_link,
    parse_time,
    prefetched,
    raw_document,
    raw_ref,
    seen_list,
    validate_items,
)

logger = logging.getLogger(__name__)
MAX_PAGES = 30  # the endpoint serves at most 3000 gists


class GithubGistsOptions(TokenSourceOptions):
    api_url: Url = "https://api.github.com"
    token_env: str = "GITHUB_TOKEN"


class Owner(Shape):
    login: str = ""


class GistFile(Shape):
    raw_url: str | None = None


class Gist(Shape):
    id: str
    html_url: str
    updated_at: str
    files: dict[str, GistFile | None] = Field(default_factory=dict)
    owner: Owner | None = None
    truncated: bool | None = False


class GithubGists(Source):
    """Public gists updated since the cursor; one batch per gist, one document per file."""

    name = "github_gists"
    Options = GithubGistsOptions
    default_hosts = ("gist.githubusercontent.com",)
    options: GithubGistsOptions

    def _headers(self) -> dict[str, str]:
        token = secret(self.options.token_env)
        auth = {"Authorization": f"Bearer {token}"} if token else {}
        return {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28", **auth}

    async def poll(self, cursor: Mapping[str, Any]) -> AsyncIterator[Batch]:
        since, window = parse_time(cursor.get("since")), SeenWindow(seen_list(cursor))
        gists, skipped = await self._list(since, first=not cursor)
        if skipped:  # items of the listing that could not be read: counted, the rest goes on
            yield Batch([], dict(cursor), skipped=skipped)
        fresh = [g for g in sorted(reversed(gists), key=_updated)  # oldest first, so `since` only grows
                 if _mark(g) not in window and not window.before(parse_time(g.updated_at), since)]
        async for gist, outcome in prefetched(fresh, self._documents, self.ctx.prefetch):
            window.add(_mark(gist))
            since = max(filter(None, (since, parse_time(gist.updated_at))), default=None)
            yield outcome.batch({"since": iso(since) if since else None, "seen": window.snapshot(since)})

    async def _list(self, since: datetime | None, *, first: bool) -> tuple[list[Gist], list[Skip]]:
        url: str | None = f"{self.options.api_url.rstrip('/')}/gists/public"
        query: dict[str, Any] = {"per_page": 100}
        if since is not None:
            query["since"] = iso(since - timedelta(seconds=1))  # overlap; the seen-list de-duplicates
        params: dict[str, Any] | None = query
        listing = Listing(self.ctx, max(1, self.options.backfill_pages) if first else MAX_PAGES)
        gists: list[Gist] = []
        skipped: list[Skip] = []
        while listing.more(url, params):  # a listing that repeats itself, or one past the poll's budgets, stops
            resp, data = await listing.get_json(url, params=params, headers=self._headers())
            if data is None:  # 304
                break
            items, bad = validate_items(self.ctx.name, Gist, data, "gists page", item_key("id"))
            gists, skipped = gists + items, skipped + bad
            url, params = next_link(resp), None
        return gists, skipped

    async def _documents(self, gist: Gist) -> Outcome:
        if gist.truncated:
            logger.info("%s: gist %s lists only its first 300 files", self.ctx.name, gist.id)
        meta = {"gist_id": gist.id, "author": gist.owner.login if gist.owner else ""}
        out = Outcome()
        for filename, f in gist.files.items():
            key = f"{gist.id}/{filename}@{gist.updated_at}"
            if f is None or not f.raw_url:
                out += Outcome(skipped=(Skip(key, "invalid", f"gist {gist.id}: file {filename!r} has no raw_url"),))
                continue
            ref = raw_ref(f.raw_url, gist.html_url, key=key, published_at=parse_time(gist.updated_at),
                          path=filename, meta=meta)
            out += await guard(self.ctx, key, ref, functools.partial(raw_document, self.ctx, ref))
        return out


def _mark(gist: Gist) -> str:
    return f"{gist.id}@{gist.updated_at}"


def _updated(gist: Gist) -> str:
    when = parse_time(gist.updated_at)
    return iso(when) if when else ""
