"""GitLab public snippets: ``GET /snippets/public?created_after=…``, paged by ``X-Next-Page``, then
each ``files[].raw_url`` (older GitLab: the snippet's own ``raw_url``).

Authenticates with the ``PRIVATE-TOKEN`` header. A throttled response is HTTP 429 with the plain
text ``Retry later`` plus ``Retry-After`` / ``RateLimit-*`` headers; :mod:`crawler.kernel.retry` honours
them. Docs: https://docs.gitlab.com/ee/api/snippets.html#list-all-public-snippets
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import Field

from crawler.config.model import Url, secret
from crawler.http import host_of
from crawler.kernel.clock import iso
from sources.base import (
    Batch,
    Listing,
    Outcome,
    SeenWindow,
    Shape,
    Skip,
    Source,
    SourceOptions,
    TokenSourceOptions,
    guard,
    item_key,
    parse_time,
    prefetched,
    raw_document,
    raw_ref,
    seen_list,
    validate_items,
)

logger = logging.getLogger(__name__)
MAX_PAGES = 20


class GitlabSnippetsOptions(TokenSourceOptions):
    api_url: Url = "https://gitlab.com/api/v4"
    token_env: str = "GITLAB_TOKEN"
    per_page: int = Field(100, ge=1, le=100)


class Author(Shape):
    username: str = ""


class SnippetFile(Shape):
    path: str
    raw_url: str


class Snippet(Shape):
    id: int
    web_url: str
    created_at: str
    raw_url: str | None = None
    file_name: str | None = None
    files: list[SnippetFile] | None = Field(default_factory=list)
    author: Author | None = None


class GitlabSnippets(Source):
    """Public snippets created since the cursor; one batch per snippet, one document per file."""

    name = "gitlab_snippets"
    Options = GitlabSnippetsOptions
    default_hosts = ("gitlab.com",)
    options: GitlabSnippetsOptions

    @classmethod
    def hosts(cls, options: SourceOptions) -> tuple[str, ...]:
        """Raw files are served by the instance the API belongs to."""
        return tuple(options.allowed_hosts) or (host_of(options.api_url),)

    def _headers(self) -> dict[str, str]:
        token = secret(self.options.token_env)
        return {"PRIVATE-TOKEN": token} if token else {}

    async def poll(self, cursor: Mapping[str, Any]) -> AsyncIterator[Batch]:
        after, window = parse_time(cursor.get("created_after")), SeenWindow(seen_list(cursor))
        snippets, skipped = await self._list(after, first=not cursor)
        if skipped:  # items of the listing that could not be read: counted, the rest goes on
            yield Batch([], dict(cursor), skipped=skipped)
        fresh = [s for s in sorted(reversed(snippets), key=_created)
                 if _mark(s) not in window and str(s.id) not in window  # plain ids: older cursors
                 and not window.before(parse_time(s.created_at), after)]
        async for snip, outcome in prefetched(fresh, self._documents, self.ctx.prefetch):
            window.add(_mark(snip))
            after = max(filter(None, (after, parse_time(snip.created_at))), default=None)
            yield outcome.batch({"created_after": iso(after) if after else None, "seen": window.snapshot(after)})

    async def refetch(self, key: str, ref: Mapping[str, Any]) -> Outcome:
        if ref.get("kind") == "raw":  # with the token again when it goes to the API's own host
            return await guard(self.ctx, key, ref, functools.partial(raw_document, self.ctx, ref, self._headers()))
        return await super().refetch(key, ref)

    async def _list(self, after: datetime | None, *, first: bool) -> tuple[list[Snippet], list[Skip]]:
        url = f"{self.options.api_url.rstrip('/')}/snippets/public"
        params: dict[str, Any] = {"per_page": self.options.per_page, "page": 1}
        if after is not None:
            params["created_after"] = iso(after - timedelta(seconds=1))  # overlap; seen-list de-duplicates
        snippets: list[Snippet] = []
        skipped: list[Skip] = []
        listing = Listing(self.ctx, max(1, self.options.backfill_pages) if first else MAX_PAGES)
        while listing.more(url, params):  # a page number that does not move repeats the listing: it stops
            resp, data = await listing.get_json(url, params=params, headers=self._headers())
            if data is None:
                break
            items, bad = validate_items(self.ctx.name, Snippet, data, "snippets page", item_key("id"))
            snippets, skipped = snippets + items, skipped + bad
            nxt = resp.headers.get("X-Next-Page", "")
            if not nxt.isdigit():  # empty on the last page
                break
            params = {**params, "page": int(nxt)}
        return snippets, skipped

    async def _documents(self, snip: Snippet) -> Outcome:
        files = list(snip.files or [])
        if not files and snip.raw_url:  # GitLab before 13.x: one file per snippet
            files = [SnippetFile(path=snip.file_name or "", raw_url=snip.raw_url)]
        meta = {"snippet_id": str(snip.id), "author": snip.author.username if snip.author else ""}
        out = Outcome()
        for f in files:
            same_host = host_of(f.raw_url) == host_of(self.options.api_url)  # the token stays on its instance
            ref = raw_ref(f.raw_url, snip.web_url, key=f"{snip.id}:{f.path}", published_at=parse_time(snip.created_at),
                          path=f.path or None, meta=meta, auth=same_host)
            out += await guard(self.ctx, str(ref["key"]), ref,
                               functools.partial(raw_document, self.ctx, ref, self._headers()))
        return out


def _mark(snip: Snippet) -> str:
    return f"{snip.id}@{snip.created_at}"


def _created(snip: Snippet) -> datetime:
    return parse_time(snip.created_at) or datetime.min.replace(tzinfo=UTC)
