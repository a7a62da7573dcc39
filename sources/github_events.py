"""GitHub public events → pushes → the patches they published.

``GET /events`` (polled with ``If-None-Match``; a 304 costs no quota; never faster than
``X-Poll-Interval``). A ``PushEvent`` payload carries only ``repository_id``, ``push_id``, ``ref``,
``head`` and ``before`` (no ``commits``), so each push is fetched as
``GET /repos/{o}/{r}/compare/{before}...{head}`` (a new branch, ``before`` all zeros:
``GET /repos/{o}/{r}/commits/{head}``). Every file's ``patch`` is one document, removed lines
included, because they were public. Files without a ``patch`` (binary or too large) are read from
the ``raw_url`` the API gives. Docs: https://docs.github.com/en/rest/activity/events,
https://docs.github.com/en/rest/commits/commits#compare-two-commits
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from datetime import timedelta
from typing import Any

from pydantic import Field

from crawler.config.model import Url, secret
from sources.base import (
    Batch,
    Document,
    Shape,
    Source,
    TokenSourceOptions,
    cap,
    fetch_raw,
    next_link,
    parse_time,
    prefetched,
    remember,
    seen_list,
    validate,
)

logger = logging.getLogger(__name__)
ZERO_SHA = "0" * 40
MAX_EVENTS = 300  # the public timeline holds at most 300 events
MAX_FILE_PAGES = 10  # the commit endpoint pages files up to 3000
SEEN = 1000


class GithubEventsOptions(TokenSourceOptions):
    api_url: Url = "https://api.github.com"
    token_env: str = "GITHUB_TOKEN"
    fetch_raw: bool = True
    """Read files that have no ``patch`` (binary, too large) from their ``raw_url``."""


class Repo(Shape):
    name: str


class Actor(Shape):
    login: str = ""


class Event(Shape):
    id: str
    type: str
    repo: Repo
    actor: Actor = Actor()
    payload: dict[str, Any] = Field(default_factory=dict)
    created_at: str | None = None


class Push(Shape):
    head: str
    before: str


class File(Shape):
    filename: str
    status: str = "modified"
    patch: str | None = None
    raw_url: str | None = None


class Commit(Shape):
    sha: str


class Diff(Shape):
    html_url: str
    files: list[File] = Field(default_factory=list)
    commits: list[Commit] = Field(default_factory=list)


class GithubEvents(Source):
    """Public events; each new ``PushEvent`` yields one batch with a document per changed file."""

    name = "github_events"
    Options = GithubEventsOptions
    default_hosts = ("github.com", "raw.githubusercontent.com")
    options: GithubEventsOptions

    def _headers(self) -> dict[str, str]:
        token = secret(self.options.token_env)
        auth = {"Authorization": f"Bearer {token}"} if token else {}
        return {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28", **auth}

    async def poll(self, cursor: Mapping[str, Any]) -> AsyncIterator[Batch]:
        seen, etag = seen_list(cursor), cursor.get("etag")
        events, new_etag = await self._list(etag if isinstance(etag, str) else None, first=not cursor)
        if events is None:
            return
        known = set(seen)
        fresh = [e for e in reversed(events) if e.id not in known]  # oldest first
        pending: list[str] = []
        async for event, docs in prefetched(fresh, self._push_documents, self.ctx.prefetch):
            pending.append(event.id)
            if docs is None:
                continue
            seen, pending = remember(seen, pending, SEEN), []
            yield Batch(docs, {"etag": etag, "seen": seen})
        final = {"etag": new_etag, "seen": remember(seen, pending, SEEN)}
        if final != {"etag": etag, "seen": seen} or pending:
            yield Batch([], final)

    async def _push_documents(self, event: Event) -> list[Document] | None:
        """The patches of a push; ``None`` for the other event types (only their ids are kept)."""
        return await self._push(event) if event.type == "PushEvent" else None

    async def _list(self, etag: str | None, *, first: bool) -> tuple[list[Event] | None, str | None]:
        """The timeline, newest first, or ``None`` on 304. The ETag is sent exactly as stored."""
        url: str | None = f"{self.options.api_url.rstrip('/')}/events"
        headers = {**self._headers(), **({"If-None-Match": etag} if etag else {})}
        params: dict[str, Any] | None = {"per_page": 100}
        pages = max(1, self.options.backfill_pages) if first else MAX_EVENTS // 100
        events: list[Event] = []
        new_etag = etag
        for page in range(pages):
            if url is None:
                break
            resp, data = await self.ctx.get_json(url, params=params, headers=headers)
            if page == 0:
                self._poll_interval(resp.headers.get("X-Poll-Interval"))
                if data is None:
                    return None, etag
                new_etag = resp.headers.get("ETag") or etag
            events += validate(self.ctx.name, list[Event], data, "events page")
            url, params, headers = next_link(resp), None, self._headers()
        return events[:MAX_EVENTS], new_etag

    def _poll_interval(self, value: str | None) -> None:
        if value and value.isdigit():
            self.not_before = self.ctx.now() + timedelta(seconds=int(value))

    async def _push(self, event: Event) -> list[Document]:
        push = validate(self.ctx.name, Push, event.payload, f"PushEvent {event.id} payload")
        base = f"{self.options.api_url.rstrip('/')}/repos/{event.repo.name}"
        if push.before == ZERO_SHA:
            return await self._diff(event, f"{base}/commits/{push.head}", push.head)
        diff, files = await self._diff_files(f"{base}/compare/{push.before}...{push.head}")
        if len(diff.files) >= 300 and diff.commits:  # compare lists at most 300 files: go per commit
            docs: list[Document] = []
            for commit in diff.commits:
                docs += await self._diff(event, f"{base}/commits/{commit.sha}", commit.sha)
            return docs
        return await self._documents(event, diff, files, push.head)

    async def _diff(self, event: Event, url: str, sha: str) -> list[Document]:
        diff, files = await self._diff_files(url)
        return await self._documents(event, diff, files, sha)

    async def _diff_files(self, url: str) -> tuple[Diff, list[File]]:
        """A compare or commit response plus all its files (the commit endpoint pages them)."""
        resp, data = await self.ctx.get_json(url, headers=self._headers())
        diff = validate(self.ctx.name, Diff, data, "commit diff")
        files, nxt = list(diff.files), next_link(resp)
        for _ in range(MAX_FILE_PAGES - 1):
            if nxt is None:
                break
            resp, data = await self.ctx.get_json(nxt, headers=self._headers())
            files += validate(self.ctx.name, Diff, data, "commit diff").files
            nxt = next_link(resp)
        return diff, files

    async def _documents(self, event: Event, diff: Diff, files: list[File], sha: str) -> list[Document]:
        meta = {"repo": event.repo.name, "commit": sha, "author": event.actor.login, "event_id": event.id}
        docs = []
        for f in files:
            key = f"{event.repo.name}@{sha}:{f.filename}"
            if f.patch is not None:
                content, truncated = cap(f.patch.encode(errors="replace"), self.ctx.max_document_bytes)
                is_patch = True
            elif self.options.fetch_raw and f.raw_url and f.status != "removed":
                body = await fetch_raw(self.ctx, f.raw_url)
                if body is None:
                    continue
                content, truncated, is_patch = body.content, body.truncated, False
            else:
                continue
            docs.append(Document(url=diff.html_url, content=content, source=self.ctx.name, key=key,
                                 published_at=parse_time(event.created_at), path=f.filename,
                                 is_patch=is_patch, truncated=truncated, meta=meta))
        return docs
