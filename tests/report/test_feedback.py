"""Issuer feedback in the report: the per-rule precision column and the false positives, in every format."""

from __future__ import annotations

import json
from pathlib import Path

from crawler.report.compute import Period, load_report
from crawler.report.feedback import precision
from crawler.report.render import render
from tests.report.seed import NOW, PERIOD_LABEL, new_store, seed_golden


def test_precision_is_tp_over_labelled() -> None:
    assert (precision(3, 1), precision(0, 2), precision(0, 0)) == (0.75, 0.0, None)


def test_every_format_shows_precision_and_the_false_positive(tmp_path: Path) -> None:
    store = new_store(tmp_path / "t.db")
    seeded = seed_golden(store)
    report = load_report(store, Period.iso_week(PERIOD_LABEL), NOW)
    fp = report["feedback"]["false_positives"][0]["redacted"]
    md, html = render(report, "md"), render(report, "html")
    assert "| Rule | True positives | False positives | Precision |" in md
    assert "| acme-live | 3 | 0 | 100% |" in md and "| demo-pat | 0 | 1 | 0% |" in md
    assert f"`{fp}`" in md and "1 false positive(s) this period" in md
    assert '<section id="feedback">' in html and fp in html and "100%" in html
    assert json.loads(render(report, "json"))["feedback"] == report["feedback"]
    for text in (md, html):  # never a plaintext token, labelled or not
        assert not [name for name, value in seeded.plaintexts.items() if value in text]


def test_no_feedback_says_so(tmp_path: Path) -> None:
    store = new_store(tmp_path / "t.db")
    report = load_report(store, Period.iso_week(PERIOD_LABEL), NOW)
    assert report["feedback"] == {"by_rule": [], "false_positives": []}
    assert "No issuer feedback yet" in render(report, "md")
