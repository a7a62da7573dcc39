"""GitHub public gists: ``GET /gists/public?since=…`` (paged by ``Link``), then each file's content
from the ``raw_url`` **given in the response** (never a constructed one).

The listing omits file contents; ``raw_url`` serves the whole file, read under
``max_document_bytes`` (larger files are cut there and flagged truncated). A gist whose top-level
``truncated`` is true lists only its first 300 files. Docs:
https://docs.github.com/en/rest/gists/gists#list-public-gists
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import Field

from crawler.config.model import Url, secret
from crawler.kernel.clock import iso
from sources.base import (
    Batch,
    Document,
    SeenWindow,
    Shape,
    Source,
    TokenSourceOptions,
    fetch_raw,
    next_link,
    parse_time,
    prefetched,
    seen_list,
    validate,
)

logger = logging.getLogger(__name__)
MAX_PAGES = 30  # the endpoint serves at most 3000 gists


class GithubGistsOptions(TokenSourceOptions):
    api_url: Url = "https://api.github.com"
    token_env: str = "GITHUB_TOKEN"


class Owner(Shape):
    login: str = ""


class GistFile(Shape):
    raw_url: str


class Gist(Shape):
    id: str
    html_url: str
    updated_at: str
    files: dict[str, GistFile] = Field(default_factory=dict)
    owner: Owner | None = None
    truncated: bool = False


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
        gists = await self._list(since, first=not cursor)
        fresh = [g for g in sorted(reversed(gists), key=_updated)  # oldest first, so `since` only grows
                 if _mark(g) not in window and not window.before(parse_time(g.updated_at), since)]
        async for gist, docs in prefetched(fresh, self._documents, self.ctx.prefetch):
            window.add(_mark(gist))
            since = max(filter(None, (since, parse_time(gist.updated_at))), default=None)
            yield Batch(docs, {"since": iso(since) if since else None, "seen": window.snapshot(since)})

    async def _list(self, since: datetime | None, *, first: bool) -> list[Gist]:
        url: str | None = f"{self.options.api_url.rstrip('/')}/gists/public"
        query: dict[str, Any] = {"per_page": 100}
        if since is not None:
            query["since"] = iso(since - timedelta(seconds=1))  # overlap; the seen-list de-duplicates
        params: dict[str, Any] | None = query
        pages = max(1, self.options.backfill_pages) if first else MAX_PAGES
        gists: list[Gist] = []
        for _ in range(pages):
            if url is None:
                break
            resp, data = await self.ctx.get_json(url, params=params, headers=self._headers())
            if data is None:  # 304
                break
            gists += validate(self.ctx.name, list[Gist], data, "gists page")
            url, params = next_link(resp), None
        return gists

    async def _documents(self, gist: Gist) -> list[Document]:
        if gist.truncated:
            logger.info("%s: gist %s lists only its first 300 files", self.ctx.name, gist.id)
        author = gist.owner.login if gist.owner else ""
        docs = []
        for filename, f in gist.files.items():
            body = await fetch_raw(self.ctx, f.raw_url)
            if body is None:
                continue
            docs.append(Document(
                url=gist.html_url, content=body.content, source=self.ctx.name,
                key=f"{gist.id}/{filename}@{gist.updated_at}", published_at=parse_time(gist.updated_at),
                path=filename, truncated=body.truncated,
                meta={"gist_id": gist.id, "author": author},
            ))
        return docs


def _mark(gist: Gist) -> str:
    return f"{gist.id}@{gist.updated_at}"


def _updated(gist: Gist) -> str:
    when = parse_time(gist.updated_at)
    return iso(when) if when else ""
