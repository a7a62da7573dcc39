"""The report's numbers: a golden file from a real seeded store, checked by hand, plus the edges.

The scenario is ``tests.report.seed.seed_golden`` (period 2026-W48 = Mon 23 Nov .. Mon 30 Nov 2026,
``now`` = Mon 30 Nov 07:00Z). Some expected numbers, worked out by hand from the seed:

- time to detect: the six sightings found in W48 with a published time took 300 s (C), 60 s (D),
  1800 s and 600 s (E, twice), 600 s (F) and 3600 s (C again); G has no published time. Sorted
  [60, 300, 600, 600, 1800, 3600], nearest rank: p50 = rank ceil(3.0) = 3 → 600 s, p90 = rank
  ceil(5.4) = 6 → 3600 s.
- time to revoke: B was revoked in W48 after 7 days (604800 s) and D after 2 h (7200 s): p50 =
  rank 1 → 7200 s, p90 = rank ceil(1.8) = 2 → 604800 s.
- trend, live at the end of each week: W46 → A only (1); W47 → A and B (2); W48 → A, C and F (3):
  B and D were revoked during W48, E is unknown, G inactive. H (found on 30 Nov) is live now, so it
  is in the still-live list (A, C, H critical by age, then F high) but in no weekly count.
- time to notify in W48: C 10 s, D 45 s, F 120 s → p50 45 s, p90 120 s; the week's median in the trend
  is 45 s too.
- issuer feedback up to the period's end: acme-live A, C, D true positives (H's label comes after the
  period) → precision 1; demo-pat F a false positive (in W48) → precision 0; acme-test no label → null.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from crawler.report.compute import Period, compute_report, load_report, percentile
from crawler.report.render import render
from tests.report.seed import NOW, PERIOD_LABEL, new_store, seed_golden

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "report" / "golden.json"


@pytest.fixture
def golden_report(tmp_path: Path) -> dict[str, object]:
    store = new_store(tmp_path / "t.db")
    seed_golden(store)
    return load_report(store, Period.iso_week(PERIOD_LABEL), NOW)


def test_golden_file(golden_report: dict[str, object]) -> None:
    if os.environ.get("REGEN_REPORT_GOLDEN"):
        GOLDEN.write_text(render(golden_report, "json"), encoding="utf-8")
        pytest.skip("golden file regenerated: read it and check it by hand")
    assert golden_report == json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert render(golden_report, "json") == GOLDEN.read_text(encoding="utf-8")  # byte-stable too


def test_hand_checked_numbers(golden_report: dict[str, object]) -> None:
    """The same numbers as the docstring, asserted directly, so a regenerated golden cannot hide a change."""
    r = json.loads(json.dumps(golden_report))
    assert r["feedback"]["by_rule"] == [
        {"rule": "acme-live", "true_positives": 3, "false_positives": 0, "precision": 1.0},
        {"rule": "acme-test", "true_positives": 0, "false_positives": 0, "precision": None},
        {"rule": "demo-pat", "true_positives": 0, "false_positives": 1, "precision": 0.0}]
    [fp] = r["feedback"]["false_positives"]
    assert (fp["rule"], fp["source"], fp["labelled_at"], r["totals"]["false_positives"]) == (
        "demo-pat", "github_gists", "2026-11-27T20:02:01Z", 1)
    assert r["timings"]["time_to_detect"] == {"count": 6, "p50": 600.0, "p90": 3600.0}
    assert r["timings"]["time_to_notify"] == {"count": 3, "p50": 45.0, "p90": 120.0}
    assert r["timings"]["time_to_revoke"] == {"count": 2, "p50": 7200.0, "p90": 604800.0}
    assert [(w["week"], w["new_exposures"], w["live_at_end"], w["median_time_to_notify"]) for w in r["trend"]] == [
        ("2026-W41", 0, 0, None), ("2026-W42", 0, 0, None), ("2026-W43", 0, 0, None), ("2026-W44", 0, 0, None),
        ("2026-W45", 0, 0, None), ("2026-W46", 1, 1, 30.0), ("2026-W47", 1, 2, 60.0), ("2026-W48", 5, 3, 45.0)]
    live = r["still_live"]
    assert [(t["severity"], t["first_seen_at"]) for t in live] == [
        ("critical", "2026-11-09T10:00:00Z"), ("critical", "2026-11-24T09:00:00Z"),
        ("critical", "2026-11-30T03:00:00Z"), ("high", "2026-11-27T20:00:00Z")]
    assert live[0]["age_seconds"] == 20 * 86400 + 21 * 3600
    assert live[0]["notified_at"] == "2026-11-09T10:00:30Z"
    assert r["totals"] == {"tokens": 8, "new_exposures": 5, "still_live": 4, "sightings": 7, "notified": 3,
                           "revoked": 2, "dead_letters": 2, "false_positives": 1}
    assert [(p["source"], p["place"], p["tokens"], p["sightings"]) for p in r["repeat_places"]] == [
        ("github_events", "acme/website", 2, 2), ("github_gists", "alice", 2, 2), ("gitlab_snippets", "bob", 1, 2)]
    assert r["new_exposures"]["by_source"][0] == {"source": "github_events", "count": 2}
    assert r["verification"]["new_by_status"] == {"pending": 0, "live": 2, "inactive": 2, "unknown": 1}
    assert [(d["status"], d["event_type"]) for d in r["dead_letters"]] == [
        ("failed", "report.weekly"), ("dead", "token.exposed")]


def test_empty_store_gives_a_sensible_report(tmp_path: Path) -> None:
    store = new_store(tmp_path / "t.db")
    r = load_report(store, Period.iso_week("2026-W48"), NOW)
    assert r["totals"] == dict.fromkeys(r["totals"], 0)
    assert r["still_live"] == r["repeat_places"] == r["dead_letters"] == r["new_exposures"]["tokens"] == []
    assert [w["new_exposures"] + w["live_at_end"] for w in r["trend"]] == [0] * 8
    assert all(v["p50"] is None and v["count"] == 0 for v in r["timings"].values())
    assert "No new exposures this week" in render(r, "html")
    assert "No new exposures this week" in render(r, "md")
    assert json.loads(render(r, "json"))["version"] == 1


def test_quiet_week_in_a_busy_store_still_lists_live_tokens(tmp_path: Path) -> None:
    store = new_store(tmp_path / "t.db")
    seed_golden(store)
    r = load_report(store, Period.iso_week("2026-W44"), NOW)
    assert r["totals"]["new_exposures"] == 0
    assert len(r["still_live"]) == 4  # "still live" is about now, whatever the period
    assert [w["week"] for w in r["trend"]][-1] == "2026-W44"


def test_compute_report_takes_any_objects_with_the_row_attributes() -> None:
    t0 = datetime(2026, 3, 3, 12, tzinfo=UTC)
    tok = SimpleNamespace(id=1, fingerprint="ab" * 32, rule="r", severity="low", redacted="x_…sha256:abababab",
                          status="live", first_seen_at=t0, verified_at=t0, revoked_at=None)
    sight = SimpleNamespace(id=1, token_id=1, source="s", url="https://example.invalid/1", place="",
                            published_at=t0 - timedelta(seconds=90), found_at=t0)
    verdict = SimpleNamespace(token_id=1, status="live", at=t0 + timedelta(seconds=1))
    r = compute_report([tok], [sight], [], [verdict], Period.iso_week("2026-W10"), t0 + timedelta(hours=1))
    assert r["timings"]["time_to_detect"] == {"count": 1, "p50": 90.0, "p90": 90.0}
    assert r["still_live"][0]["delivery"] == "none" and r["still_live"][0]["notified_at"] is None
    assert r["trend"][-1] == {"week": "2026-W10", "new_exposures": 1, "live_at_end": 1,
                              "median_time_to_notify": None}


def test_a_live_token_later_found_inactive_is_not_live_at_the_end_of_that_week() -> None:
    t0 = datetime(2026, 3, 2, 9, tzinfo=UTC)  # Monday of 2026-W10
    tok = SimpleNamespace(id=7, fingerprint="cd" * 32, rule="r", severity="high", redacted="x_…sha256:cdcdcdcd",
                          status="inactive", first_seen_at=t0, verified_at=None, revoked_at=t0 + timedelta(days=8))
    verdicts = [SimpleNamespace(token_id=7, status="live", at=t0),
                SimpleNamespace(token_id=7, status="inactive", at=t0 + timedelta(days=8))]
    r = compute_report([tok], [], [], verdicts, Period.iso_week("2026-W11"), t0 + timedelta(days=20))
    assert [w["live_at_end"] for w in r["trend"][-2:]] == [1, 0]
    assert r["timings"]["time_to_revoke"] == {"count": 1, "p50": 8 * 86400.0, "p90": 8 * 86400.0}
    assert r["still_live"] == []


@pytest.mark.parametrize(("values", "pct", "expected"), [
    ([], 50, None), ([5.0], 90, 5.0), ([1.0, 2.0], 50, 1.0), ([1.0, 2.0, 3.0, 4.0], 50, 2.0),
    ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], 90, 9.0), ([3.0, 1.0, 2.0], 90, 3.0),
])
def test_percentile_is_nearest_rank(values: list[float], pct: float, expected: float | None) -> None:
    assert percentile(values, pct) == expected


def test_periods() -> None:
    week = Period.iso_week("2026-W48")
    assert (week.start, week.end) == (datetime(2026, 11, 23, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC))
    assert Period.iso_week("2026-W53").label == "2026-W53"  # 2026 has 53 ISO weeks
    assert Period.iso_week("2027-W01").start == datetime(2027, 1, 4, tzinfo=UTC)
    assert Period.last_full_week(NOW) == week
    assert Period.last_full_week(datetime(2026, 11, 29, 23, 59, tzinfo=UTC)).label == "2026-W47"
    since = Period.since(7 * 86400, NOW)
    assert (since.start, since.end, since.label) == (NOW - timedelta(days=7), NOW, "2026-11-23_2026-11-30")
    for bad in ("2026-48", "2025-W53", "2026-W00", "W48"):
        with pytest.raises(ValueError, match="ISO week"):
            Period.iso_week(bad)
    with pytest.raises(ValueError, match="positive"):
        Period.since(0, NOW)


def test_coverage_numbers(golden_report: dict[str, object]) -> None:
    """The Coverage section of the seeded pushes (``tests.report.seed.seed_pushes``), by hand: 24 Nov, the
    archive saw 4 pushes, 3 were scanned (2 by the feed after 40 s and 50 s → median 40 s by nearest
    rank; 1 from the archive after 3780 s), 1 dropped; 25 Nov, no archive: the 1 push the feed saw,
    scanned after 20 s. The period adds the days up (5 pushes, 4 scanned; feed delays 20, 40, 50 s)."""
    cov = json.loads(json.dumps(golden_report))["coverage"]

    def lanes(f: dict[str, object]) -> tuple[object, ...]:
        rt, bf = f["realtime"], f["backfill"]
        assert isinstance(rt, dict) and isinstance(bf, dict)
        return (f["pushes"], f["denominator"], f["scanned"], f["scanned_pct"], rt["scanned"], rt["scanned_pct"],
                rt["median_delay"], bf["scanned"], bf["scanned_pct"], bf["median_delay"], f["dropped"])

    assert [d["day"] for d in cov["days"]] == ["2026-11-24", "2026-11-25"]  # 22 Nov is before the period
    assert lanes(cov["days"][0]) == (4, "archive", 3, 75.0, 2, 50.0, 40.0, 1, 25.0, 3780.0, 1)
    assert lanes(cov["days"][1]) == (1, "seen", 1, 100.0, 1, 100.0, 20.0, 0, 0.0, None, 0)
    assert lanes(cov["total"]) == (5, "mixed", 4, 80.0, 3, 60.0, 40.0, 1, 20.0, 3780.0, 1)


def test_the_coverage_section_is_rendered_in_markdown_and_html(golden_report: dict[str, object]) -> None:
    md, html = render(golden_report, "md"), render(golden_report, "html")
    assert "| 2026-11-24 | 4 | 75.0 % | 50.0 % | 40s | 25.0 % | 1h 3m | 1 |" in md
    assert "| period | 5 (mixed) | 80.0 % |" in md
    assert 'id="coverage"' in html and "2026-11-25" in html and "80.0 %" in html
