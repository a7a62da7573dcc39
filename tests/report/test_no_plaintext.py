"""Grep test: no minted plaintext token (nor more than 4 characters of its body) in any report format."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.report.compute import Period, load_report
from crawler.report.render import FORMATS, render, summary_text
from tests.report.seed import NOW, PERIOD_LABEL, RULES, new_store, seed_demo, seed_golden

WINDOW = 8  # any 8 consecutive body characters past the 4 shown would be a leak


def _body(token: str) -> str:
    prefix = next(r.prefix for r in RULES.values() if token.startswith(r.prefix))
    return token[len(prefix):]


@pytest.mark.parametrize("seed", [seed_golden, lambda store: seed_demo(store, NOW)], ids=["golden", "demo"])
def test_no_plaintext_token_in_any_format(tmp_path: Path, seed: object) -> None:
    store = new_store(tmp_path / "t.db")
    seeder = seed(store)  # type: ignore[operator]
    report = load_report(store, Period.iso_week(PERIOD_LABEL), NOW)
    outputs = {fmt: render(report, fmt) for fmt in FORMATS} | {"summary": summary_text(report)}
    assert len(seeder.plaintexts) >= 8
    shown = 0
    for name, token in seeder.plaintexts.items():
        body = _body(token)
        prefix = token[: len(token) - len(body)]
        for fmt, text in outputs.items():
            assert token not in text, f"{name} in plaintext in {fmt}"
            assert prefix + body[:5] not in text, f"{name}: more than 4 body characters in {fmt}"
            leaks = [body[i:i + WINDOW] for i in range(4, len(body) - WINDOW + 1) if body[i:i + WINDOW] in text]
            assert not leaks, f"{name}: body fragment in {fmt}"
        shown += all(prefix + body[:4] + "…sha256:" in outputs[fmt] for fmt in FORMATS)
    assert shown >= 6  # the tokens are there, in redacted form: the checks above were not vacuous
