"""GitHub code search: ``GET /search/code?q="<prefix>"`` for each rule prefix.

Searches go out with the text-match media type and are paced to ``searches_per_minute`` (the
code-search limit is about 10 a minute). Each hit's content comes from its contents ``url``
(JSON, base64 ``content``); files over the contents API's 1 MB limit (``encoding: "none"``) come
from the blob at ``git_url``. Hits are de-duplicated by blob ``sha`` (a bounded list in the
cursor). Docs: https://docs.github.com/en/rest/search/search#search-code,
https://docs.github.com/en/rest/repos/contents#get-repository-content
"""

from __future__ import annotations

import base64
import binascii
import functools
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

from pydantic import Field

from crawler.config.model import Duration, Url, secret
from crawler.kernel.errors import MalformedPage
from sources.base import (
    Batch,
    Document,
    Listing,
    Outcome,
    Shape,
    Source,
    TokenSourceOptions,
    cap,
    guard,
    item_key,
    next_link,
    remember,
    seen_list,
    validate,
    validate_items,
)

logger = logging.getLogger(__name__)
SEEN = 5000
TEXT_MATCH = "application/vnd.github.text-match+json"


class GithubSearchOptions(TokenSourceOptions):
    api_url: Url = "https://api.github.com"
    token_env: str = "GITHUB_TOKEN"
    interval: Duration = 600.0
    searches_per_minute: float = Field(10.0, gt=0, le=60)
    """Code-search requests per minute (GitHub allows about 10 for a token)."""
    per_page: int = Field(100, ge=1, le=100)


class Repository(Shape):
    full_name: str


class Hit(Shape):
    path: str
    sha: str
    url: str
    git_url: str
    html_url: str
    repository: Repository


class Results(Shape):
    items: list[object]


class Blob(Shape):
    content: str | None = ""
    encoding: str | None = "base64"


class GithubSearch(Source):
    """Code search for every rule prefix; one batch per new blob."""

    name = "github_search"
    Options = GithubSearchOptions
    options: GithubSearchOptions

    def _headers(self, accept: str = "application/vnd.github+json") -> dict[str, str]:
        token = secret(self.options.token_env)
        auth = {"Authorization": f"Bearer {token}"} if token else {}
        return {"Accept": accept, "X-GitHub-Api-Version": "2022-11-28", **auth}

    async def poll(self, cursor: Mapping[str, Any]) -> AsyncIterator[Batch]:
        shas = seen_list(cursor, "shas")
        known = set(shas)
        pages = max(1, self.options.backfill_pages) if not cursor else 1
        prefixes = list(self.ctx.prefixes)
        start = prefixes.index(cursor["resume"]) if cursor.get("resume") in prefixes else 0
        order = prefixes[start:] + prefixes[:start]  # from where the last poll stopped (its page budget)
        searches, last = 0, None  # last: the prefix the last batch's cursor resumes at
        for prefix in order:
            url: str | None = f"{self.options.api_url.rstrip('/')}/search/code"
            params: dict[str, Any] | None = {"q": f'"{prefix}"', "per_page": self.options.per_page}
            listing = Listing(self.ctx, pages)
            if not listing.more(url, params):  # the poll's budgets are spent: the next poll starts here
                yield Batch([], {"shas": shas, "resume": prefix})
                return
            while listing.more(url, params):
                if searches:
                    await self.ctx.sleep(60.0 / self.options.searches_per_minute)
                searches += 1
                resp, data = await listing.get_json(url, params=params, headers=self._headers(TEXT_MATCH))
                items = validate(self.ctx.name, Results, data, "search results").items
                hits, skipped = validate_items(self.ctx.name, Hit, items, "search results", item_key("sha", "path"))
                if skipped:
                    last = prefix
                    yield Batch([], {"shas": shas, "resume": prefix}, skipped=skipped)
                url, params = next_link(resp), None
                for hit in hits:
                    if hit.sha in known:
                        continue
                    ref = {"kind": "hit", "hit": hit.model_dump()}
                    outcome = await guard(self.ctx, hit.sha, ref, functools.partial(self._document, hit))
                    known.add(hit.sha)
                    shas, last = remember(shas, [hit.sha], SEEN), prefix
                    yield outcome.batch({"shas": shas, "resume": prefix})  # a poll cut short goes on from here
        if last is not None and last != order[0]:  # every prefix searched:
            yield Batch([], {"shas": shas, "resume": order[0]})  # the next poll starts where this one did

    async def refetch(self, key: str, ref: Mapping[str, Any]) -> Outcome:
        if ref.get("kind") == "hit":
            hit = validate(self.ctx.name, Hit, ref.get("hit"), "parked search hit")
            return await guard(self.ctx, key, ref, functools.partial(self._document, hit))
        return await super().refetch(key, ref)

    async def _document(self, hit: Hit) -> Outcome:
        blob = await self._blob(hit.url)
        if blob.encoding != "base64":  # over 1 MB: the contents API sends none
            blob = await self._blob(hit.git_url)
        try:
            raw = base64.b64decode(blob.content or "")
        except (binascii.Error, ValueError):
            raise MalformedPage(self.ctx.name, f"content of {hit.url} is not base64") from None
        content, truncated = cap(raw, self.ctx.max_document_bytes)
        return Outcome((Document(url=hit.html_url, content=content, source=self.ctx.name, key=hit.sha, path=hit.path,
                                 truncated=truncated, meta={"repo": hit.repository.full_name, "blob": hit.sha}),))

    async def _blob(self, url: str) -> Blob:
        """A contents or blob JSON (a 404/410/451 is :class:`DocumentSkipped`, via ``document_json``)."""
        _, data = await self.ctx.document_json(url, headers=self._headers())
        return validate(self.ctx.name, Blob, data, "file content")
