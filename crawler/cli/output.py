"""Rendering ``leakpatrol scan`` findings: text (colour on a TTY), JSON and SARIF 2.1.0.

Findings are redacted unless the user asked for ``--reveal``; this module never sees a token
otherwise (``Finding.revealed`` is only filled on request).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from crawler import __version__
from crawler.detect.rules import Rule

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}


@dataclass(frozen=True)
class Finding:
    rule: Rule
    fingerprint: str
    redacted: str
    path: str
    line: int
    column: int
    revealed: str | None = None
    status: str | None = None
    status_reason: str | None = None

    @property
    def shown(self) -> str:
        return self.revealed if self.revealed is not None else self.redacted


def to_json(findings: Sequence[Finding]) -> str:
    items = []
    for f in findings:
        item: dict[str, Any] = {"rule": f.rule.id, "fingerprint": f.fingerprint, "redacted": f.redacted,
                                "path": f.path, "line": f.line, "column": f.column, "severity": f.rule.severity}
        if f.revealed is not None:
            item["token"] = f.revealed
        if f.status is not None:
            item["status"] = f.status
            item["status_reason"] = f.status_reason
        items.append(item)
    return json.dumps({"version": 1, "findings": items}, indent=2, ensure_ascii=False)


def to_sarif(findings: Sequence[Finding]) -> str:
    rules: dict[str, Rule] = {}
    for f in findings:
        rules.setdefault(f.rule.id, f.rule)
    results = []
    for f in findings:
        text = f"{f.rule.name} found: {f.shown}"
        if f.status:
            text += f" (verified: {f.status})"
        results.append({
            "ruleId": f.rule.id,
            "level": _LEVEL.get(f.rule.severity, "warning"),
            "message": {"text": text},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": quote(f.path.replace("\\", "/"))},  # a URI reference
                "region": {"startLine": f.line, "startColumn": f.column},
            }}],
            "partialFingerprints": {"tokenSha256/v1": f.fingerprint},
        })
    driver: dict[str, Any] = {
        "name": "leakpatrol", "version": __version__,
        "rules": [{"id": r.id, "name": r.name, "shortDescription": {"text": r.name},
                   "defaultConfiguration": {"level": _LEVEL.get(r.severity, "warning")},
                   **({"helpUri": r.reference} if r.reference else {})} for r in rules.values()],
    }
    doc = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [{"tool": {"driver": driver}, "results": results}]}
    return json.dumps(doc, indent=2, ensure_ascii=False)


def to_text(findings: Sequence[Finding], *, colour: bool) -> str:
    def c(code: str, s: str) -> str:
        return f"\x1b[{code}m{s}\x1b[0m" if colour else s

    lines = []
    for f in findings:
        sev = c("1;31" if f.rule.severity in ("critical", "high") else "33", f.rule.severity.upper())
        where = c("1", f"{f.path}:{f.line}:{f.column}")
        extra = f"  [{f.status}: {f.status_reason}]" if f.status else ""
        lines.append(f"{where}  {sev}  {f.rule.id}  {f.shown}{extra}")
    n = len(findings)
    lines.append(c("1;31", f"{n} finding{'s' if n != 1 else ''}") if n else c("32", "no findings"))
    return "\n".join(lines)
