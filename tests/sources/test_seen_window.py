"""``SeenWindow``: what time-overlapped listings (gists ``since``, snippets ``created_after``) remember,
so that a burst of items within one second is never processed twice, and nothing older is kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crawler.kernel.clock import iso
from sources.base import SeenWindow, parse_time

T = datetime(2026, 11, 28, 22, 0, 0, 500_000, tzinfo=UTC)


def mark(n: int, at: datetime) -> str:
    return f"item{n}@{at.isoformat().replace('+00:00', 'Z')}"


def test_a_burst_within_one_second_is_remembered_whole() -> None:
    w = SeenWindow([])
    for n in range(5000):
        w.add(mark(n, T))
    since = parse_time(iso(T))  # the cursor keeps whole seconds
    kept = w.snapshot(since)
    assert len(kept) == 5000
    again = SeenWindow(kept)
    assert all(mark(n, T) in again for n in range(5000))


def test_marks_older_than_the_overlap_are_dropped_and_filtered_by_time() -> None:
    w = SeenWindow([])
    old, new = T - timedelta(seconds=10), T
    w.add(mark(1, old))
    w.add(mark(2, new))
    since = parse_time(iso(new))
    assert w.snapshot(since) == [mark(2, new)]
    assert w.before(old, since) and not w.before(new, since)
    # an item one second before the stored (truncated) cursor can still be listed: it is remembered
    edge = new.replace(microsecond=0) - timedelta(seconds=1)
    w2 = SeenWindow([mark(3, edge)])
    assert w2.snapshot(since) == [mark(3, edge)] and not w2.before(edge, since)


def test_plain_ids_from_older_cursors_are_dropped() -> None:
    w = SeenWindow(["123", mark(4, T)])
    assert w.snapshot(parse_time(iso(T))) == [mark(4, T)]
