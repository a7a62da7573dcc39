"""GitHub public events → pushes → the patches they published.

``GET /events`` (polled with ``If-None-Match``; a 304 costs no quota; never faster than
``X-Poll-Interval``). A ``PushEvent`` payload carries only ``repository_id``, ``push_id``, ``ref``,
``head`` and ``before`` (no ``commits``), so each push is fetched as
``GET /repos/{o}/{r}/compare/{before}...{head}`` (a new branch, ``before`` all zeros:
``GET /repos/{o}/{r}/commits/{head}``). Every file's ``patch`` is one document, removed lines
included, because they were public. Files without a ``patch`` (binary or too large) are read from
the ``raw_url`` the API gives. A push whose compare lists 300 files (the compare's limit) is read
commit by commit, every commit of every compare page (``per_page=100``, ``Link: rel="next"``).

One push never stops the poll: a compare that answers 404/410/451 (the repository was deleted or
made private since the push) is skipped, one that fails transiently is parked with the event and
fetched again later; an event the listing cannot describe (GitHub's schema allows ``"type": null``)
is skipped alone; an event listed twice (the feed moved while it was paged) is fetched once. Docs: https://docs.github.com/en/rest/activity/events,
https://docs.github.com/en/rest/commits/commits#compare-two-commits
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

from crawler.config.model import Url, secret
from sources.base import (
    Batch,
    Document,
    Outcome,
    Shape,
    Skip,
    Source,
    TokenSourceOptions,
    cap,
    guard,
    item_key,
    next_link,
    parse_time,
    prefetched,
    raw_document,
    raw_ref,
    remember,
    seen_list,
    validate,
    validate_items,
)

logger = logging.getLogger(__name__)
ZERO_SHA = "0" * 40
MAX_EVENTS = 300  # the public timeline holds at most 300 events
MAX_FILE_PAGES = 10  # the commit endpoint pages files up to 3000
MAX_COMPARE_PAGES = 30  # commits of one compare, 100 a page
COMPARE_FILES = 300  # a compare lists at most 300 files for the whole comparison
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
    type: str | None = None  # GitHub's OpenAPI schema: "type": {"type": "string", "nullable": true}
    repo: Repo
    actor: Actor | None = None
    payload: dict[str, Any] | None = None
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
    files: list[File] | None = None
    commits: list[Commit] | None = None
    total_commits: int | None = None


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
        events, new_etag, skipped = await self._list(etag if isinstance(etag, str) else None, first=not cursor)
        if skipped:  # items of the listing that could not be read: counted, the rest goes on
            yield Batch([], dict(cursor), skipped=skipped)
        if events is None:
            return
        known = set(seen)
        fresh = [e for e in reversed(events) if e.id not in known]  # oldest first
        pending: list[str] = []
        async for event, outcome in prefetched(fresh, self._push_documents, self.ctx.prefetch):
            pending.append(event.id)
            if outcome is None:
                continue
            seen, pending = remember(seen, pending, SEEN), []
            yield outcome.batch({"etag": etag, "seen": seen})
        final = {"etag": new_etag, "seen": remember(seen, pending, SEEN)}
        if final != {"etag": etag, "seen": seen} or pending:
            yield Batch([], final)

    async def refetch(self, key: str, ref: Mapping[str, Any]) -> Outcome:
        if ref.get("kind") not in ("push", "commit"):
            return await super().refetch(key, ref)
        event = validate(self.ctx.name, Event, ref.get("event"), "parked PushEvent")
        if ref["kind"] == "commit":
            return await self._commit(event, str(ref.get("sha")))
        return await self._push_documents(event) or Outcome()

    async def _push_documents(self, event: Event) -> Outcome | None:
        """The patches of a push; ``None`` for the other event types (only their ids are kept)."""
        if event.type != "PushEvent":
            return None
        ref = {"kind": "push", "event": event.model_dump(mode="json")}
        return await guard(self.ctx, f"{event.repo.name}#{event.id}", ref, lambda: self._push(event))

    async def _list(self, etag: str | None, *, first: bool) -> tuple[list[Event] | None, str | None, list[Skip]]:
        """The timeline, newest first and each event once, or ``None`` on 304. The ETag is sent
        exactly as stored."""
        url: str | None = f"{self.options.api_url.rstrip('/')}/events"
        headers = {**self._headers(), **({"If-None-Match": etag} if etag else {})}
        params: dict[str, Any] | None = {"per_page": 100}
        pages = max(1, self.options.backfill_pages) if first else MAX_EVENTS // 100
        events: dict[str, Event] = {}
        skipped: list[Skip] = []
        new_etag = etag
        for page in range(pages):
            if url is None:
                break
            resp, data = await self.ctx.get_json(url, params=params, headers=headers)
            if page == 0:
                self._poll_interval(resp.headers.get("X-Poll-Interval"))
                if data is None:
                    return None, etag, []
                new_etag = resp.headers.get("ETag") or etag
            items, bad = validate_items(self.ctx.name, Event, data, "events page", item_key("id"))
            for e in items:
                events.setdefault(e.id, e)  # the feed moved while paged: a repeated event is the same one
            skipped += [s for s in bad if s.key not in {k.key for k in skipped}]
            url, params, headers = next_link(resp), None, self._headers()
        return list(events.values())[:MAX_EVENTS], new_etag, skipped

    def _poll_interval(self, value: str | None) -> None:
        if value and value.isdigit():
            self.not_before = self.ctx.after(float(value), "X-Poll-Interval")

    async def _push(self, event: Event) -> Outcome:
        push = validate(self.ctx.name, Push, event.payload or {}, f"PushEvent {event.id} payload")
        base = f"{self.options.api_url.rstrip('/')}/repos/{event.repo.name}"
        if push.before == ZERO_SHA:
            return await self._diff(event, f"{base}/commits/{push.head}", push.head)
        url = f"{base}/compare/{push.before}...{push.head}?per_page=100"
        resp, data = await self.ctx.document_json(url, headers=self._headers())
        diff = validate(self.ctx.name, Diff, data, "compare")
        if len(diff.files or []) < COMPARE_FILES:
            return await self._documents(event, diff, list(diff.files or []), push.head)
        out = Outcome()  # the file list is cut at 300: read every commit of the push instead
        for sha in await self._all_commits(resp, diff, push.head):
            out += await self._commit(event, sha)
        return out

    async def _commit(self, event: Event, sha: str) -> Outcome:
        """One commit of a large push, guarded alone (parked as ``{"kind": "commit"}``)."""
        url = f"{self.options.api_url.rstrip('/')}/repos/{event.repo.name}/commits/{sha}"
        ref = {"kind": "commit", "event": event.model_dump(mode="json"), "sha": sha}
        return await guard(self.ctx, f"{event.repo.name}@{sha}", ref, functools.partial(self._diff, event, url, sha))

    async def _all_commits(self, resp: Any, diff: Diff, head: str) -> list[str]:
        """Every commit of a compare, across its pages, the head commit included."""
        shas = [c.sha for c in diff.commits or []]
        nxt = next_link(resp)
        for _ in range(MAX_COMPARE_PAGES - 1):
            if nxt is None or (diff.total_commits is not None and len(shas) >= diff.total_commits):
                break
            resp, data = await self.ctx.document_json(nxt, headers=self._headers())
            shas += [c.sha for c in validate(self.ctx.name, Diff, data, "compare").commits or []]
            nxt = next_link(resp)
        return list(dict.fromkeys([*shas, head]))

    async def _diff(self, event: Event, url: str, sha: str) -> Outcome:
        diff, files = await self._diff_files(url)
        return await self._documents(event, diff, files, sha)

    async def _diff_files(self, url: str) -> tuple[Diff, list[File]]:
        """A commit response plus all its files (the commit endpoint pages them)."""
        resp, data = await self.ctx.document_json(url, headers=self._headers())
        diff = validate(self.ctx.name, Diff, data, "commit diff")
        files, nxt = list(diff.files or []), next_link(resp)
        for _ in range(MAX_FILE_PAGES - 1):
            if nxt is None:
                break
            resp, data = await self.ctx.document_json(nxt, headers=self._headers())
            files += validate(self.ctx.name, Diff, data, "commit diff").files or []
            nxt = next_link(resp)
        return diff, files

    async def _documents(self, event: Event, diff: Diff, files: list[File], sha: str) -> Outcome:
        meta = {"repo": event.repo.name, "commit": sha, "author": event.actor.login if event.actor else "",
                "event_id": event.id}
        published = parse_time(event.created_at)
        out = Outcome()
        for f in files:
            key = f"{event.repo.name}@{sha}:{f.filename}"
            if f.patch is not None:
                content, truncated = cap(f.patch.encode(errors="replace"), self.ctx.max_document_bytes)
                out += Outcome((Document(url=diff.html_url, content=content, source=self.ctx.name, key=key,
                                         published_at=published, path=f.filename, is_patch=True,
                                         truncated=truncated, meta=meta),))
            elif self.options.fetch_raw and f.raw_url and f.status != "removed":
                ref = raw_ref(f.raw_url, diff.html_url, key=key, published_at=published, path=f.filename, meta=meta)
                out += await guard(self.ctx, key, ref, functools.partial(raw_document, self.ctx, ref))
        return out
