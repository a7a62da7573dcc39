"""``scan --format json`` writes its findings without json's pure-Python indenting encoder: the text
must be exactly what ``json.dumps(indent=2, ensure_ascii=False)`` writes for the same document."""

from __future__ import annotations

import json

import pytest

from crawler.cli.output import Finding, to_json
from crawler.detect.rules import load_rules

NAMES = ["plain/path.py", 'quo"te\\back\tslash\n.py', "ünïcødé/路径.py", "bad-\udcff-byte.py", "\x01\x1f\x7f.py",
         "emoji-\U0001F600.txt", ""]


def _findings(n: int) -> list[Finding]:
    rules = load_rules(None)
    out = []
    for i in range(n):
        out.append(Finding(rule=rules[i % len(rules)], fingerprint=f"{i:064x}", redacted=f"tok_…{i}",
                           path=NAMES[i % len(NAMES)], line=i + 1, column=(i * 7) % 130 + 1,
                           revealed=None if i % 3 else f"secret\"{i}\\", status=None if i % 4 else "valid",
                           status_reason=None if i % 8 else "él dijo \"ok\"",
                           commit=None if i % 5 else f"{i:040x}", date=None if i % 5 else "2026-11-30T20:00:00+00:00"))
    return out


@pytest.mark.parametrize("n", [0, 1, 2, 37])
@pytest.mark.parametrize("stats", [None, {"files": 3, "bytes": 10, "seconds": 0.25, "skipped": 1,
                                          "skipped_by_reason": {"binary": 1},
                                          "skipped_files": [{"path": '  "findings": [],', "reason": "binary"}]}])
def test_json_text_is_what_json_dumps_writes(n: int, stats: dict[str, object] | None) -> None:
    text = to_json(_findings(n), stats)
    doc = json.loads(text)
    assert text == json.dumps(doc, indent=2, ensure_ascii=False)
    assert len(doc["findings"]) == n and doc["stats"] == (stats or {})
    assert [f["path"] for f in doc["findings"]] == [NAMES[i % len(NAMES)].replace("\udcff", "\\xff") for i in range(n)]
