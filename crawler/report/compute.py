"""The exposure report's numbers: pure functions over store rows (schema: ``docs/report-schema.md``).

:func:`compute_report` takes lists of rows (the SQLModel records, or any objects with the same
attributes) and returns a JSON-ready dict. Nothing here decrypts a token: a token is only ever shown
as ``Token.redacted`` and its ``fingerprint``.

Conventions (documented in the schema):

- a period is the half-open UTC window ``[start, end)``; ISO weeks are UTC weeks;
- an event belongs to the period in which it happened: detection (``Sighting.found_at``),
  first notification (``Delivery.delivered_at``), revocation (``Token.revoked_at``);
- percentiles use the **nearest-rank** method: for ``n`` sorted values, ``pXX`` is the value at
  1-based rank ``ceil(XX / 100 * n)``, so it is always one of the measured values.

Size: one module mirrors the one report schema section by section (``docs/report-schema.md``); its
functions are short and pure.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from crawler.kernel.clock import iso
from crawler.kernel.status import STATUSES
from crawler.report.coverage import FetchRow, coverage
from crawler.report.feedback import FeedbackRow, feedback_section

if TYPE_CHECKING:
    from crawler.store.database import Store

REPORT_VERSION = 1
SEVERITIES = ("critical", "high", "medium", "low")
DEAD = frozenset({"dead", "failed", "disabled"})
EXPOSED = "token.exposed"
TREND_WEEKS = 8
_WEEK = timedelta(days=7)
_ISO_WEEK = re.compile(r"(\d{4})-W(\d{2})")  # "2026-W48": ISO 8601 year-week, as `date.isocalendar()`


class TokenRow(Protocol):
    id: int | None
    fingerprint: str
    rule: str
    severity: str
    redacted: str
    status: str
    first_seen_at: datetime | None
    verified_at: datetime | None
    revoked_at: datetime | None


class SightingRow(Protocol):
    id: int | None
    token_id: int
    source: str
    url: str
    place: str
    published_at: datetime | None
    found_at: datetime | None


class DeliveryRow(Protocol):
    token_id: int | None
    notifier: str
    event_type: str
    status: str
    attempts: int
    created_at: datetime | None
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    last_error: str
    last_status: int | None


class VerificationRow(Protocol):
    token_id: int
    status: str
    at: datetime | None


@dataclass(frozen=True)
class Period:
    """The half-open window ``[start, end)`` in aware UTC; ``label`` names it in titles and file names."""

    start: datetime
    end: datetime
    label: str

    @classmethod
    def iso_week(cls, week: str) -> Period:
        """``"2026-W48"``: Monday 00:00 UTC to the next Monday."""
        m = _ISO_WEEK.fullmatch(week.strip())
        if not m:
            raise ValueError(f"not an ISO week: {week!r} (expected YYYY-Www, e.g. 2026-W48)")
        try:
            monday = date.fromisocalendar(int(m[1]), int(m[2]), 1)
        except ValueError:
            raise ValueError(f"no such ISO week: {week!r}") from None
        start = datetime(monday.year, monday.month, monday.day, tzinfo=UTC)
        return cls(start, start + _WEEK, f"{m[1]}-W{m[2]}")

    @classmethod
    def since(cls, seconds: float, now: datetime) -> Period:
        """The last ``seconds`` up to ``now``."""
        if seconds <= 0:
            raise ValueError("the report window must be positive")
        end = now.astimezone(UTC)
        start = end - timedelta(seconds=seconds)
        return cls(start, end, f"{start:%Y-%m-%d}_{end:%Y-%m-%d}")

    @classmethod
    def last_full_week(cls, now: datetime) -> Period:
        """The ISO week before the one holding ``now`` (what the Monday job reports)."""
        return cls.week_of(now - _WEEK)

    @classmethod
    def week_of(cls, moment: datetime) -> Period:
        year, week, _ = moment.astimezone(UTC).isocalendar()
        return cls.iso_week(f"{year}-W{week:02d}")

    def __contains__(self, moment: datetime | None) -> bool:
        return moment is not None and self.start <= moment < self.end


# -- small helpers ------------------------------------------------------------------------------



def seconds(start: datetime | None, end: datetime | None) -> float | None:
    """``end - start`` in seconds (never negative: clock skew between sources clamps to 0)."""
    if start is None or end is None:
        return None
    return round(max(0.0, (end - start).total_seconds()), 3)


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile: the value at 1-based rank ``ceil(pct / 100 * n)``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(pct / 100 * len(ordered))) - 1]


def timing(values: Iterable[float | None]) -> dict[str, Any]:
    got = [v for v in values if v is not None]
    return {"count": len(got), "p50": percentile(got, 50), "p90": percentile(got, 90)}


def _counts(values: Iterable[str], key: str) -> list[dict[str, Any]]:
    """``[{key: value, "count": n}]``, most frequent first, ties by name."""
    pairs = sorted(Counter(values).items(), key=lambda kv: (-kv[1], kv[0]))
    return [{key: k, "count": n} for k, n in pairs]


# -- the report ---------------------------------------------------------------------------------


@dataclass
class _Rows:
    """The input rows, indexed once."""

    tokens: Sequence[TokenRow]
    sightings: dict[int, list[SightingRow]]
    exposed: dict[int, list[DeliveryRow]]
    verdicts: dict[int, list[VerificationRow]]
    all_sightings: Sequence[SightingRow]
    all_deliveries: Sequence[DeliveryRow]
    all_verdicts: Sequence[VerificationRow]

    @classmethod
    def index(cls, tokens: Sequence[TokenRow], sightings: Sequence[SightingRow],
              deliveries: Sequence[DeliveryRow], verifications: Sequence[VerificationRow]) -> _Rows:
        by_tok: dict[int, list[SightingRow]] = defaultdict(list)
        for s in sorted(sightings, key=lambda s: (s.found_at or datetime.min.replace(tzinfo=UTC), s.id or 0)):
            by_tok[s.token_id].append(s)
        exposed: dict[int, list[DeliveryRow]] = defaultdict(list)
        for d in deliveries:
            if d.token_id is not None and d.event_type == EXPOSED:
                exposed[d.token_id].append(d)
        verdicts: dict[int, list[VerificationRow]] = defaultdict(list)
        for v in sorted(verifications, key=lambda v: v.at or datetime.min.replace(tzinfo=UTC)):
            verdicts[v.token_id].append(v)
        return cls(tokens, by_tok, exposed, verdicts, sightings, deliveries, verifications)

    def first_sighting(self, tok: TokenRow) -> SightingRow | None:
        rows = self.sightings.get(tok.id or -1)
        return rows[0] if rows else None

    def notified_at(self, tok: TokenRow) -> datetime | None:
        times = [d.delivered_at for d in self.exposed.get(tok.id or -1, []) if d.delivered_at]
        return min(times) if times else None

    def status_at(self, tok: TokenRow, moment: datetime) -> str:
        """The token's status just before ``moment``, replayed from its verification history."""
        status = "pending"
        for v in self.verdicts.get(tok.id or -1, []):
            if v.at is None or v.at >= moment:
                break
            status = v.status
        return status

    def new_in(self, period: Period) -> list[TokenRow]:
        return sorted((t for t in self.tokens if t.first_seen_at in period), key=_seen_key)


def _seen_key(tok: TokenRow) -> tuple[datetime, str]:
    return tok.first_seen_at or datetime.min.replace(tzinfo=UTC), tok.fingerprint


def compute_report(tokens: Sequence[TokenRow], sightings: Sequence[SightingRow],
                   deliveries: Sequence[DeliveryRow], verifications: Sequence[VerificationRow],
                   period: Period, now: datetime, feedback: Sequence[FeedbackRow] = (),
                   fetches: Sequence[FetchRow] = ()) -> dict[str, Any]:
    """The whole report as a JSON-ready dict (version 1, see ``docs/report-schema.md``)."""
    rows = _Rows.index(tokens, sightings, deliveries, verifications)
    labels = feedback_section(tokens, feedback, period.end, lambda tok: _where(rows, tok))
    new = rows.new_in(period)
    live = _still_live(rows, now)
    dead = _dead_letters(rows, period)
    timings = _timings(rows, period)
    return {
        "version": REPORT_VERSION,
        "generated_at": iso(now),
        "period": {"label": period.label, "start": iso(period.start), "end": iso(period.end)},
        "totals": {
            "tokens": len(tokens),
            "new_exposures": len(new),
            "still_live": len(live),
            "sightings": sum(1 for s in sightings if s.found_at in period),
            "notified": timings["time_to_notify"]["count"],
            "revoked": timings["time_to_revoke"]["count"],
            "dead_letters": len(dead),
            "false_positives": sum(1 for f in feedback if f.label == "false_positive" and f.at in period),
        },
        "still_live": live,
        "new_exposures": _new_exposures(rows, new),
        "verification": _verification(rows, new, period),
        "timings": timings,
        "repeat_places": _repeat_places(rows, period),
        "dead_letters": dead,
        "trend": _trend(rows, period),
        "feedback": labels,
        "coverage": coverage(fetches, period.start, period.end),
    }


def _where(rows: _Rows, tok: TokenRow) -> dict[str, Any]:
    first = rows.first_sighting(tok)
    return {"source": first.source if first else None, "url": first.url if first else None,
            "sightings": len(rows.sightings.get(tok.id or -1, []))}


def _delivery_state(deliveries: Sequence[DeliveryRow]) -> str:
    """``delivered`` if any notifier got it, else ``pending``, else the failure, else ``none``."""
    states = {d.status for d in deliveries}
    for state in ("delivered", "pending", "dead", "failed", "disabled"):
        if state in states:
            return state
    return "none"


def _still_live(rows: _Rows, now: datetime) -> list[dict[str, Any]]:
    """Every token live right now, whatever the period: most severe first, then oldest first."""
    live = sorted((t for t in rows.tokens if t.status == "live"), key=_seen_key)
    live.sort(key=lambda t: SEVERITIES.index(t.severity) if t.severity in SEVERITIES else len(SEVERITIES))
    out = []
    for tok in live:
        sent = rows.exposed.get(tok.id or -1, [])
        out.append({
            "redacted": tok.redacted, "fingerprint": tok.fingerprint, "rule": tok.rule,
            "severity": tok.severity, **_where(rows, tok),
            "first_seen_at": iso(tok.first_seen_at), "age_seconds": seconds(tok.first_seen_at, now),
            "verified_at": iso(tok.verified_at), "notified_at": iso(rows.notified_at(tok)),
            "delivery": _delivery_state(sent),
            "deliveries": [{"notifier": d.notifier, "status": d.status}
                           for d in sorted(sent, key=lambda d: d.notifier)],
        })
    return out


def _new_exposures(rows: _Rows, new: Sequence[TokenRow]) -> dict[str, Any]:
    sev = Counter(t.severity for t in new)
    items = [{"redacted": t.redacted, "rule": t.rule, "severity": t.severity, "status": t.status,
              "first_seen_at": iso(t.first_seen_at), **_where(rows, t)} for t in new]
    return {
        "total": len(new),
        "by_rule": _counts((t.rule for t in new), "rule"),
        "by_severity": [{"severity": s, "count": sev[s]} for s in SEVERITIES]
        + _counts((t.severity for t in new if t.severity not in SEVERITIES), "severity"),
        "by_source": _counts((str(i["source"] or "unknown") for i in items), "source"),
        "tokens": items,
    }


def _verification(rows: _Rows, new: Sequence[TokenRow], period: Period) -> dict[str, Any]:
    current = Counter(t.status for t in new)
    checks = Counter(v.status for v in rows.all_verdicts if v.at in period)
    return {
        "new_by_status": {s: current[s] for s in (*STATUSES, *sorted(set(current) - set(STATUSES)))},
        "checks": sum(checks.values()),
        "checks_by_result": dict(sorted(checks.items())),
    }


def _timings(rows: _Rows, period: Period) -> dict[str, Any]:
    detect = [seconds(s.published_at, s.found_at) for s in rows.all_sightings if s.found_at in period]
    notify = [seconds(t.first_seen_at, n) for t in rows.tokens if (n := rows.notified_at(t)) in period]
    revoke = [seconds(t.first_seen_at, t.revoked_at) for t in rows.tokens if t.revoked_at in period]
    return {"time_to_detect": timing(detect), "time_to_notify": timing(notify),
            "time_to_revoke": timing(revoke)}


def _repeat_places(rows: _Rows, period: Period) -> list[dict[str, Any]]:
    """(source, place) pairs with a sighting in the period and ≥2 tokens or sightings up to its end."""
    redacted = {t.id: t.redacted for t in rows.tokens}
    groups: dict[tuple[str, str], list[SightingRow]] = defaultdict(list)
    for s in rows.all_sightings:
        if s.place and s.found_at is not None and s.found_at < period.end:
            groups[(s.source, s.place)].append(s)
    out = []
    for (source, place), hits in groups.items():
        toks = {s.token_id for s in hits}
        if any(s.found_at in period for s in hits) and (len(toks) >= 2 or len(hits) >= 2):
            out.append({"source": source, "place": place, "tokens": len(toks), "sightings": len(hits),
                        "last_found_at": iso(max(s.found_at for s in hits if s.found_at)),
                        "redacted": sorted(redacted.get(t, "?") for t in toks)})
    return sorted(out, key=lambda p: (-p["tokens"], -p["sightings"], p["source"], p["place"]))


def _dead_letters(rows: _Rows, period: Period) -> list[dict[str, Any]]:
    """Deliveries that ended dead, failed or disabled during the period (token and report events)."""
    tokens = {t.id: t for t in rows.tokens}
    out = []
    for d in rows.all_deliveries:
        when = d.last_attempt_at or d.created_at
        if d.status in DEAD and when in period:
            tok = tokens.get(d.token_id) if d.token_id is not None else None
            out.append({"notifier": d.notifier, "event_type": d.event_type, "status": d.status,
                        "redacted": tok.redacted if tok else None, "rule": tok.rule if tok else None,
                        "attempts": d.attempts, "last_status": d.last_status,
                        "last_error": d.last_error[:200],
                        "created_at": iso(d.created_at), "last_attempt_at": iso(d.last_attempt_at)})
    return sorted(out, key=lambda d: (d["last_attempt_at"] or "", d["notifier"], d["redacted"] or ""))


def _trend(rows: _Rows, period: Period) -> list[dict[str, Any]]:
    """One entry per ISO week, the last being the week holding the period's end."""
    last = Period.week_of(period.end - timedelta(microseconds=1))
    out = []
    for back in range(TREND_WEEKS - 1, -1, -1):
        week = Period.week_of(last.start - back * _WEEK)
        notify = [seconds(t.first_seen_at, n) for t in rows.tokens if (n := rows.notified_at(t)) in week]
        out.append({
            "week": week.label,
            "new_exposures": len(rows.new_in(week)),
            "live_at_end": sum(1 for t in rows.tokens if rows.status_at(t, week.end) == "live"),
            "median_time_to_notify": percentile([v for v in notify if v is not None], 50),
        })
    return out


def load_report(store: Store, period: Period, now: datetime) -> dict[str, Any]:
    """Read the rows from the store (never decrypting a token) and compute the report."""
    return compute_report(store.tokens(), store.sightings(), store.deliveries(), store.verifications(),
                          period, now, store.feedback(), store.fetch_items(period.start, period.end))
