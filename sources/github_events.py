"""GitHub public events → pushes → the patches they published (the real-time lane).

``GET /events`` (polled with ``If-None-Match``; a 304 costs no quota; never faster than
``X-Poll-Interval``). The timeline holds at most 300 events and lags, so it sees a share of public
pushes; ``gharchive`` reads the rest an hour later. Each ``PushEvent`` is fetched as
:mod:`sources._github` describes — through the store's fetch queue when the engine runs one (so a
push ``gharchive`` saw first is not fetched again), else inline.

One push never stops the poll: a push whose diff cannot be had is skipped, one that fails
transiently is parked; an event the listing cannot describe (GitHub's schema allows ``"type": null``)
is skipped alone; an event listed twice (the feed moved while it was paged) is fetched once.
Docs: https://docs.github.com/en/rest/activity/events
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

from sources._github import Event, GithubOptions, GithubPushes
from sources.base import (
    Batch,
    Fetch,
    Listing,
    Skip,
    item_key,
    next_link,
    prefetched,
    remember,
    seen_list,
    validate_items,
)

logger = logging.getLogger(__name__)
MAX_EVENTS = 300  # the public timeline holds at most 300 events
SEEN = 1000


class GithubEventsOptions(GithubOptions):
    pass


class GithubEvents(GithubPushes):
    """Public events; each new ``PushEvent`` yields one batch with a document per changed file (or,
    with the fetch queue, one queued push)."""

    name = "github_events"
    Options = GithubEventsOptions
    lane = "realtime"

    async def poll(self, cursor: Mapping[str, Any]) -> AsyncIterator[Batch]:
        seen, etag = seen_list(cursor), cursor.get("etag")
        events, new_etag, skipped = await self._list(etag if isinstance(etag, str) else None, first=not cursor)
        if skipped:  # items of the listing that could not be read: counted, the rest goes on
            yield Batch([], dict(cursor), skipped=skipped)
        if events is None:
            return
        known = set(seen)
        fresh = [e for e in reversed(events) if e.id not in known]  # oldest first
        if self.ctx.queue:
            found = [self.push_fetch(e) for e in fresh]
            yield Batch([], {"etag": new_etag, "seen": remember(seen, [e.id for e in fresh], SEEN)},
                        skipped=[f for f in found if isinstance(f, Skip)],
                        queued=[f for f in found if isinstance(f, Fetch)])
            return
        pending: list[str] = []
        async for event, outcome in prefetched(fresh, self.push_documents, self.ctx.prefetch):
            pending.append(event.id)
            if outcome is None:
                continue
            seen, pending = remember(seen, pending, SEEN), []
            yield outcome.batch({"etag": etag, "seen": seen})
        final = {"etag": new_etag, "seen": remember(seen, pending, SEEN)}
        if final != {"etag": etag, "seen": seen} or pending:
            yield Batch([], final)

    async def _list(self, etag: str | None, *, first: bool) -> tuple[list[Event] | None, str | None, list[Skip]]:
        """The timeline, newest first and each event once, or ``None`` on 304. The ETag is sent
        exactly as stored."""
        url: str | None = f"{self.options.api_url.rstrip('/')}/events"
        headers = {**self.headers(), **({"If-None-Match": etag} if etag else {})}
        params: dict[str, Any] | None = {"per_page": 100}
        listing = Listing(self.ctx, max(1, self.options.backfill_pages) if first else MAX_EVENTS // 100)
        events: dict[str, Event] = {}
        skipped: list[Skip] = []
        new_etag = etag
        while listing.more(url, params):
            resp, data = await listing.get_json(url, params=params, headers=headers)
            if listing.count == 1:
                self._poll_interval(resp.headers.get("X-Poll-Interval"))
                if data is None:
                    return None, etag, []
                new_etag = resp.headers.get("ETag") or etag
            items, bad = validate_items(self.ctx.name, Event, data, "events page", item_key("id"))
            for e in items:
                events.setdefault(e.id, e)  # the feed moved while paged: a repeated event is the same one
            skipped += [s for s in bad if s.key not in {k.key for k in skipped}]
            url, params, headers = next_link(resp), None, self.headers()
        return list(events.values())[:MAX_EVENTS], new_etag, skipped

    def _poll_interval(self, value: str | None) -> None:
        if value and value.isdigit():
            self.not_before = self.ctx.after(float(value), "X-Poll-Interval")
