"""The report's **Coverage** section: the share of public pushes scanned, per day, from the fetch
queue's rows (:class:`crawler.store.models.FetchItem`; schema: ``docs/report-schema.md``).

A push belongs to the UTC day it was published (``published_at``). The denominator is the pushes the
archive saw that day (``seen_backfill_at``: the archive lists every public push) — or, on a day the
archive saw none (no archive source), every push any source saw, and ``denominator`` says which (the
period's total adds the days up: ``mixed`` when they differ). A push is *scanned* once its diff was
fetched (``status == "done"``), in the real-time lane (the events feed saw it first) or the backfill
lane (the archive did). The delay of a scanned push is from its publication to its fetch; medians
are nearest-rank.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Protocol

LANES = ("realtime", "backfill")


class FetchRow(Protocol):
    lane: str
    status: str
    published_at: datetime | None
    fetched_at: datetime | None
    seen_backfill_at: datetime | None


def delay(row: FetchRow) -> float | None:
    if row.published_at is None or row.fetched_at is None:
        return None
    return round(max(0.0, (row.fetched_at - row.published_at).total_seconds()), 3)


def pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


def _base(rows: Sequence[FetchRow]) -> tuple[list[FetchRow], str]:
    """The pushes a day's share counts (see the module docstring) and which they are."""
    archived = [r for r in rows if r.seen_backfill_at is not None]
    return (archived, "archive") if archived else (list(rows), "seen")


def _figures(rows: Sequence[FetchRow], base: list[FetchRow], denominator: str) -> dict[str, Any]:
    scanned = [r for r in base if r.status == "done"]
    out: dict[str, Any] = {"pushes": len(base), "denominator": denominator, "scanned": len(scanned),
                           "scanned_pct": pct(len(scanned), len(base))}
    for lane in LANES:
        mine = [r for r in scanned if r.lane == lane]
        delays = [d for r in mine if (d := delay(r)) is not None]
        out[lane] = {"scanned": len(mine), "scanned_pct": pct(len(mine), len(base)),
                     # nearest rank p50 = the lower middle value
                     "median_delay": statistics.median_low(delays) if delays else None}
    out["dropped"] = sum(1 for r in rows if r.status == "dropped")
    out["skipped"] = sum(1 for r in rows if r.status == "skipped")
    out["pending"] = sum(1 for r in rows if r.status in ("pending", "parked"))
    return out


def coverage(rows: Sequence[FetchRow], start: datetime, end: datetime) -> dict[str, Any]:
    """``{"total": figures, "days": [{"day": "2026-11-23", **figures}, …]}`` over the pushes published in
    ``[start, end)``, one entry per day that has pushes, oldest first."""
    inside = [r for r in rows if r.published_at is not None and start <= r.published_at < end]
    by_day: dict[date, list[FetchRow]] = defaultdict(list)
    for r in inside:
        assert r.published_at is not None
        by_day[r.published_at.date()].append(r)
    bases = {d: _base(by_day[d]) for d in sorted(by_day)}
    days = [{"day": d.isoformat(), **_figures(by_day[d], *bases[d])} for d in bases]
    kinds = {kind for _, kind in bases.values()}
    total_base = [r for base, _ in bases.values() for r in base]
    total = _figures(inside, total_base, kinds.pop() if len(kinds) == 1 else "mixed" if kinds else "seen")
    return {"total": total, "days": days}
