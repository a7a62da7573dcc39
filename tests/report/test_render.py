"""Rendering: stable JSON, Markdown for chat, one self-contained HTML page, the chat summary, files."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from crawler.report.compute import Period, load_report
from crawler.report.render import human_duration, render, summary_text, write_report
from tests.report.seed import NOW, PERIOD_LABEL, Seeder, new_store, seed_golden


@pytest.fixture
def seeded(tmp_path: Path) -> tuple[Seeder, dict[str, Any]]:
    store = new_store(tmp_path / "t.db")
    seeder = seed_golden(store)
    return seeder, load_report(store, Period.iso_week(PERIOD_LABEL), NOW)


def test_json_is_stable_and_versioned(seeded: tuple[Seeder, dict[str, Any]]) -> None:
    _, report = seeded
    text = render(report, "json")
    assert text == render(json.loads(text), "json")
    assert text.startswith('{\n  "version": 1,\n  "generated_at": "2026-11-30T07:00:00Z",')
    assert list(json.loads(text))[:5] == ["version", "generated_at", "period", "totals", "still_live"]


def test_markdown_puts_headline_and_still_live_first(seeded: tuple[Seeder, dict[str, Any]]) -> None:
    _, report = seeded
    text = render(report, "md")
    headline = text.index("**5** new exposure(s) · **4** still live · median time to notify **45s**")
    assert headline < text.index("## Still live (4)") < text.index("## New exposures (5)")
    live_rows = text[text.index("## Still live"):text.index("## New exposures")].count("\n| `")
    assert live_rows == 4
    assert "| 2026-W48 | 5 | 3 | 45s |" in text


def test_markdown_escapes_table_breakers(seeded: tuple[Seeder, dict[str, Any]]) -> None:
    seeder, _ = seeded
    seeder.sight("X", "acme-live", source="paste|site", url="https://example.invalid/x y", found="11-28 10:00",
                 published=None, place="evil|place")
    seeder.sight("Y", "acme-live", source="paste|site", url="https://example.invalid/y", found="11-28 11:00",
                 published=None, place="evil|place")
    text = render(load_report(seeder.store, Period.iso_week(PERIOD_LABEL), NOW), "md")
    assert "| paste\\|site | evil\\|place | 2 | 2 |" in text
    assert "<https://example.invalid/x y>" not in text  # not a plain URL: not linked


def test_html_is_self_contained_and_escaped(seeded: tuple[Seeder, dict[str, Any]]) -> None:
    seeder, _ = seeded
    seeder.sight("X", "acme-live", source="github_gists", url="javascript:alert(1)", found="11-28 10:00",
                 published=None, place="<script>alert(1)</script>")
    seeder.verdict("X", "live", "11-28 10:00:01")  # in the still-live table, whose cells link to the URL
    seeder.sight("Y", "acme-live", source="github_gists", url="https://gist.github.com/y", found="11-28 11:00",
                 published=None, place="<script>alert(1)</script>")
    html = render(load_report(seeder.store, Period.iso_week(PERIOD_LABEL), NOW), "html")
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="javascript:' not in html and "javascript:alert(1)</div>" not in html
    assert 'href="https://gist.github.com/alice/a1"' in html
    assert html.count("<svg") == 4
    assert "@media print" in html
    assert not re.search(r"""(?:src|srcset)\s*=\s*["']?https?:|@import|url\(\s*["']?https?:""", html, re.I)


def test_html_empty_week(tmp_path: Path) -> None:
    report = load_report(new_store(tmp_path / "t.db"), Period.iso_week(PERIOD_LABEL), NOW)
    html = render(report, "html")
    assert html.count("No new exposures this week") == 3  # two charts and the table
    assert "No token is live right now." in html
    assert html.count("<svg") == 1  # only the trend is drawn


def test_summary_text(seeded: tuple[Seeder, dict[str, Any]]) -> None:
    _, report = seeded
    text = summary_text(report, limit=2)
    first, *rest = text.splitlines()
    assert first == ("leakpatrol exposure report 2026-W48: 5 new exposure(s) (2 critical), 4 still live,"
                     " median time to notify 45s, 2 dead letter(s).")
    assert rest[0].startswith("• LIVE acme_live_") and "age 20d 21h" in rest[0]
    assert rest[-1] == "… and 2 more live token(s)"


def test_write_report_writes_each_format(seeded: tuple[Seeder, dict[str, Any]], tmp_path: Path) -> None:
    seeder, report = seeded
    paths = write_report(seeder.store, Period.iso_week(PERIOD_LABEL), NOW, tmp_path / "out", ["json", "md"])
    assert [p.name for p in paths] == ["leakpatrol-report-2026-W48.json", "leakpatrol-report-2026-W48.md"]
    assert json.loads(paths[0].read_text(encoding="utf-8")) == report
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [p.name for p in paths]  # no .tmp left


def test_unknown_format() -> None:
    with pytest.raises(ValueError, match="html, md, json"):
        render({}, "pdf")  # type: ignore[arg-type]


@pytest.mark.parametrize(("seconds", "text"), [
    (None, "—"), (0, "0s"), (42.4, "42s"), (60, "1m"), (252, "4m 12s"), (3600, "1h"), (7260, "2h 1m"),
    (273600, "3d 4h"), (604800, "7d"),
])
def test_human_duration(seconds: float | None, text: str) -> None:
    assert human_duration(seconds) == text
