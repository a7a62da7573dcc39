"""Rendering ``leakpatrol scan`` findings: text (colour on a TTY), JSON and SARIF 2.1.0.

Findings are redacted unless the user asked for ``--reveal``; this module never sees a token
otherwise (``Finding.revealed`` is only filled on request).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any, NamedTuple

from crawler import __version__
from crawler.detect.rules import Rule

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}


class Finding(NamedTuple):
    rule: Rule
    fingerprint: str
    redacted: str
    path: str
    line: int
    column: int
    revealed: str | None = None
    status: str | None = None
    status_reason: str | None = None
    column_utf16: int = 0
    """The column in UTF-16 code units (SARIF's default ``columnKind``); 0: same as ``column``."""
    commit: str | None = None
    date: str | None = None
    """``--git``: the commit whose patch holds the token, and its author date."""

    @property
    def shown(self) -> str:
        return self.revealed if self.revealed is not None else self.redacted


def to_json(findings: Sequence[Finding], stats: dict[str, Any] | None = None) -> str:
    text = json.dumps({"version": 1, "findings": [], "stats": stats or {}}, indent=2, ensure_ascii=False)
    if not findings:
        return text
    # What json.dumps(indent=2) writes for the list of flat items, without its pure-Python indenting
    # encoder (a tenth of a second for ten thousand findings); a test holds the two texts equal.
    rendered = ",\n".join(map(_json_item, findings))
    return text.replace('\n  "findings": [],', '\n  "findings": [\n' + rendered + "\n  ],", 1)


def _json_item(f: Finding) -> str:
    """One finding as json.dumps(indent=2) writes it inside the list: one f-string, no dict."""
    s = _string
    text = (f'    {{\n      "rule": {s(f.rule.id)},\n      "fingerprint": {s(f.fingerprint)},\n'
            f'      "redacted": {s(f.redacted)},\n      "path": {s(printable(f.path))},\n'
            f'      "line": {int.__repr__(f.line)},\n      "column": {int.__repr__(f.column)},\n'
            f'      "severity": {s(f.rule.severity)}')
    if f.revealed is not None:
        text += f',\n      "token": {s(f.revealed)}'
    if f.status is not None:
        text += f',\n      "status": {s(f.status)},\n      "status_reason": {_scalar(f.status_reason)}'
    if f.commit is not None:
        text += f',\n      "commit": {s(f.commit)},\n      "date": {_scalar(f.date)}'
    return text + "\n    }"


_string = json.encoder.encode_basestring  # what json.dumps uses with ensure_ascii=False (the C one if built)


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return _string(value)
    return json.dumps(value) if not isinstance(value, int) or isinstance(value, bool) else int.__repr__(value)


def printable(path: str) -> str:
    """A file name as printable text: bytes that are not UTF-8 (kept by Python as surrogates) are
    written as ``\\xNN`` escapes, so every output format can carry the name."""
    if path.isascii():  # nearly every name: nothing to escape
        return path
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _notifications(skipped: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    """Each file not scanned, as a SARIF ``notification`` of the run's invocation."""
    return [{"level": "warning", "descriptor": {"id": "skipped"},
             "message": {"text": f"not scanned ({why}): {printable(path)}"},
             "locations": [{"physicalLocation": {"artifactLocation": {"uri": _uri(path)}}}]}
            for path, why in skipped]


def _uri(path: str) -> str:
    """A URI reference: the name's bytes percent-encoded (an undecodable byte becomes ``%FF``)."""
    from urllib.parse import quote  # SARIF only

    if os.sep == "\\":  # pragma: no cover - Windows
        path = path.replace("\\", "/")
    return quote(path.encode("utf-8", "surrogateescape"), safe="/:@!$&'()*+,;=")


def to_sarif(findings: Sequence[Finding], stats: dict[str, Any] | None = None,
             skipped: Sequence[tuple[str, str]] = ()) -> str:
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
                "artifactLocation": {"uri": _uri(f.path)},
                "region": {"startLine": f.line, "startColumn": f.column_utf16 or f.column},
            }}],
            "partialFingerprints": {"tokenSha256/v1": f.fingerprint},
            **({"properties": {"commit": f.commit, "authorDate": f.date}} if f.commit else {}),
        })
    driver: dict[str, Any] = {
        "name": "leakpatrol", "version": __version__,
        "rules": [{"id": r.id, "name": r.name, "shortDescription": {"text": r.name},
                   "defaultConfiguration": {"level": _LEVEL.get(r.severity, "warning")},
                   **({"helpUri": r.reference} if r.reference else {})} for r in rules.values()],
    }
    stats = stats or {}
    invocation = {"executionSuccessful": True, "toolExecutionNotifications": _notifications(skipped),
                  "properties": {k: v for k, v in stats.items() if k != "skipped_files"}}
    run = {"tool": {"driver": driver}, "invocations": [invocation], "columnKind": "utf16CodeUnits",
           "results": results}
    doc = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(doc, indent=2, ensure_ascii=False)


def to_text(findings: Sequence[Finding], *, colour: bool) -> str:
    def c(code: str, s: str) -> str:
        return f"\x1b[{code}m{s}\x1b[0m" if colour else s

    lines = []
    for f in findings:
        sev = c("1;31" if f.rule.severity in ("critical", "high") else "33", f.rule.severity.upper())
        where = c("1", f"{printable(f.path)}:{f.line}:{f.column}")
        extra = f"  [{f.status}: {f.status_reason}]" if f.status else ""
        if f.commit:
            extra += f"  commit {f.commit[:12]} {f.date}"
        lines.append(f"{where}  {sev}  {f.rule.id}  {f.shown}{extra}")
    n = len(findings)
    lines.append(c("1;31", f"{n} finding{'s' if n != 1 else ''}") if n else c("32", "no findings"))
    return "\n".join(lines)
