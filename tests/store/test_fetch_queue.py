"""The fetch queue in the store (SQLite and PostgreSQL): one row per push across sources, newest
first, bounded, claimed by one process at a time through the work-queue mechanism the outbox uses."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from crawler.store.database import Store, open_store
from crawler.store.fetches import NewFetch
from tests.store.conftest import Db
from tests.store.helpers import T0


def pushes(n: int, start: int = 0) -> list[NewFetch]:
    return [NewFetch(f"push:{100 + i}:{i:040x}", {"kind": "push", "event": {"id": str(i)}},
                     T0 + timedelta(seconds=i)) for i in range(start, start + n)]


def test_a_push_seen_by_two_sources_is_queued_once_and_both_sightings_are_kept(store: Store) -> None:
    first = store.queue_fetches(pushes(3), handler="github_events", lane="realtime", now=T0)
    again = store.queue_fetches(pushes(4), handler="gharchive", lane="backfill", now=T0 + timedelta(hours=1))
    assert (first.new, first.known, again.new, again.known) == (3, 0, 1, 3)
    rows = store.fetch_items()
    assert [(r.handler, r.lane) for r in rows] == [("github_events", "realtime")] * 3 + [("gharchive", "backfill")]
    assert [r.seen_realtime_at for r in rows] == [T0, T0, T0, None]
    assert {r.seen_backfill_at for r in rows} == {T0 + timedelta(hours=1)}
    assert rows[0].ref == {"kind": "push", "event": {"id": "0"}}


def test_claims_come_newest_first_and_a_claimed_item_is_not_offered_again(store: Store) -> None:
    store.queue_fetches(pushes(5), handler="github_events", lane="realtime", now=T0)
    got = store.claim_fetches(["github_events"], "a:1", 60, T0, limit=2)
    assert [r.key for r in got] == [p.key for p in reversed(pushes(5))][:2]
    assert [r.key for r in store.claim_fetches(["github_events"], "b:2", 60, T0, limit=10)] == \
        [p.key for p in reversed(pushes(3))]
    assert store.claim_fetches(["github_events"], "c:3", 60, T0 + timedelta(seconds=59)) == []
    assert len(store.claim_fetches(["github_events"], "c:3", 60, T0 + timedelta(seconds=61))) == 5  # claims expire
    assert store.claim_fetches(["gharchive"], "c:3", 60, T0 + timedelta(hours=1)) == []  # per handler


def test_finished_items_stay_as_records_and_deferred_ones_come_back_at_their_time(store: Store) -> None:
    store.queue_fetches(pushes(3), handler="github_events", lane="realtime", now=T0)
    a, b, c = store.claim_fetches(["github_events"], "a:1", 60, T0)
    assert a.id and b.id and c.id
    store.finish_fetch(a.id, "done", T0 + timedelta(seconds=3))
    store.finish_fetch(b.id, "skipped", T0 + timedelta(seconds=3), "HTTP 404")
    store.defer_fetches([c.id], T0 + timedelta(seconds=30), "rate limited")
    assert store.fetch_queue_stats().depth == 1
    assert store.claim_fetches(["github_events"], "a:1", 60, T0 + timedelta(seconds=29)) == []
    [back] = store.claim_fetches(["github_events"], "b:2", 60, T0 + timedelta(seconds=30))
    assert back.key == c.key
    done = {r.key: (r.status, r.fetched_at, r.last_error) for r in store.fetch_items()}
    assert done[a.key] == ("done", T0 + timedelta(seconds=3), "")
    assert done[b.key] == ("skipped", T0 + timedelta(seconds=3), "HTTP 404")
    assert store.queue_fetches(pushes(1), handler="gharchive", lane="backfill", now=T0).new == 0  # never again


def test_the_queue_keeps_its_bound_by_dropping_the_oldest_pending_pushes(store: Store) -> None:
    store.queue_fetches(pushes(6), handler="github_events", lane="realtime", now=T0, bound=10)
    out = store.queue_fetches(pushes(6, start=6), handler="github_events", lane="realtime", now=T0, bound=10)
    assert (out.new, out.dropped) == (6, 2)
    stats = store.fetch_queue_stats(["github_events"])
    assert (stats.depth, stats.oldest) == (10, T0 + timedelta(seconds=2))
    assert [r.key for r in store.fetch_items() if r.status == "dropped"] == [p.key for p in pushes(2)]


def test_a_killed_claimers_items_are_freed_at_once(store: Store) -> None:
    store.queue_fetches(pushes(2), handler="github_events", lane="realtime", now=T0)
    store.claim_fetches(["github_events"], "host:dead", 600, T0)
    assert store.release_dead_fetch_claims(lambda owner: owner == "host:dead") == 2
    assert len(store.claim_fetches(["github_events"], "host:alive", 600, T0)) == 2


def test_two_claimers_at_once_take_disjoint_items_and_all_of_them(db: Db, store: Store) -> None:
    """Two processes' stores (two engines, two connection pools) claim the same queue in parallel."""
    store.queue_fetches(pushes(200), handler="github_events", lane="realtime", now=T0)
    other = open_store(db.url, store.cipher)
    taken: dict[str, list[str]] = {"a": [], "b": []}
    start, both_claimed = threading.Barrier(2), threading.Barrier(2)

    def claimer(name: str, s: Store) -> None:
        # The first claims race each other; then both wait until each has claimed once, so that a
        # claimer whose SQLite busy handler slept through the other's whole run cannot pass for
        # "took nothing" (SQLite serialises writers: one may legitimately drain all 200 alone).
        start.wait()
        first = s.claim_fetches(["github_events"], f"{name}:1", 600, T0, limit=7)
        taken[name] += [r.key for r in first]
        both_claimed.wait(30)
        while rows := s.claim_fetches(["github_events"], f"{name}:1", 600, T0, limit=7):
            taken[name] += [r.key for r in rows]

    try:
        threads = [threading.Thread(target=claimer, args=(n, s)) for n, s in (("a", store), ("b", other))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        other.close()
    assert not set(taken["a"]) & set(taken["b"])
    assert sorted(taken["a"] + taken["b"]) == sorted(p.key for p in pushes(200))
    assert taken["a"] and taken["b"]  # both really claimed, each at least its first batch


def test_an_unknown_lane_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="sideways"):
        store.queue_fetches(pushes(1), handler="x", lane="sideways", now=T0)


def test_finished_items_are_pruned_by_age_and_pending_ones_never(store: Store) -> None:
    store.queue_fetches(pushes(3), handler="github_events", lane="realtime", now=T0)
    a, b, _ = sorted(store.claim_fetches(["github_events"], "a:1", 60, T0), key=lambda r: r.key)
    assert a.id and b.id
    store.finish_fetch(a.id, "done", T0)
    store.finish_fetch(b.id, "skipped", T0)
    store.defer_fetches([r.id for r in store.fetch_items() if r.status == "pending" and r.id], T0)
    assert store.prune_fetches(T0 + timedelta(seconds=1)) == 1  # a: published at T0; b at T0 + 1 s
    assert store.prune_fetches(T0 + timedelta(days=30)) == 1
    assert [r.status for r in store.fetch_items()] == ["pending"]
