"""``leakpatrol scan``: the detection engine as a CI / pre-commit gate.

Exit codes: 0 nothing found, 1 findings, 2 usage or config error. No network request is made
unless ``--verify`` is given.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from crawler.cli.output import Finding
from crawler.cli.walk import Skipped, iter_files, read_file
from crawler.config.model import Config
from crawler.detect.rules import Rule
from crawler.detect.scanner import Match, Scanner, scan_lines_allowed
from crawler.kernel.errors import ConfigError

logger = logging.getLogger(__name__)
BATCH = 1 << 20


@dataclass
class ScanOutcome:
    findings: list[Finding]
    files: int
    skipped: list[Skipped]


def load_baseline(path: str) -> set[str]:
    """A baseline is ``{"version": 1, "fingerprints": [...]}`` as ``--write-baseline`` writes it."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("baseline file not found", file=path) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"not a leakpatrol baseline: {exc}", file=path) from None
    fps = doc.get("fingerprints") if isinstance(doc, dict) else None
    if not isinstance(fps, list) or not all(isinstance(f, str) for f in fps):
        raise ConfigError('not a leakpatrol baseline (expected {"version": 1, "fingerprints": [...]})', file=path)
    return set(fps)


def write_baseline(path: str, findings: Sequence[Finding]) -> None:
    fps = sorted({f.fingerprint for f in findings})
    Path(path).write_text(json.dumps({"version": 1, "fingerprints": fps}, indent=2) + "\n", encoding="utf-8")


def _inputs(paths: Sequence[str], cap: int) -> Iterator[tuple[str, bytes | Skipped]]:
    if list(paths) == ["-"]:
        yield "-", sys.stdin.buffer.read(cap + 1)[:cap]
        return
    for path in iter_files(list(paths)):
        yield path, read_file(path, cap)


def _to_findings(path: str, data: bytes, matches: Iterable[Match], reveal: bool) -> list[Finding]:
    return [Finding(rule=m.rule, fingerprint=m.fingerprint, redacted=m.redacted, path=path, line=m.line,
                    column=m.column, revealed=m.text if reveal else None)
            for m in scan_lines_allowed(data, matches)]


def scan_paths(paths: Sequence[str], rules: Sequence[Rule], *, cap: int, baseline: set[str] | None = None,
               reveal: bool = False, progress: bool = False) -> ScanOutcome:
    scanner = Scanner(rules, max_document_bytes=cap)
    out = ScanOutcome([], 0, [])
    pending: list[tuple[str, bytes]] = []

    def flush() -> None:
        for (path, data), matches in zip(pending, scanner.scan_batch([d for _, d in pending]), strict=True):
            out.findings.extend(_to_findings(path, data, matches, reveal))
        pending.clear()

    size = 0
    bar = _progress() if progress else None
    for path, data in _inputs(paths, cap):
        if isinstance(data, Skipped):
            out.skipped.append(data)
            continue
        out.files += 1
        pending.append((path, data))
        size += len(data)
        if bar is not None:
            bar.advance(path)
        if size >= BATCH:
            flush()
            size = 0
    flush()
    if bar is not None:
        bar.close()
    if baseline:
        out.findings = [f for f in out.findings if f.fingerprint not in baseline]
    return out


class _progress:
    """A rich progress line on a TTY (stderr), for large trees."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn

        # On stderr: stdout carries the report (rich's default console is stdout).
        self.p = Progress(SpinnerColumn(), TextColumn("scanning {task.completed} files {task.description}"),
                          console=Console(stderr=True), transient=True)
        self.task = self.p.add_task("", total=None)
        self.p.start()

    def advance(self, path: str) -> None:
        self.p.update(self.task, advance=1, description=path[-60:])

    def close(self) -> None:
        self.p.stop()


def verify_findings(findings: list[Finding], cfg: Config | None, rules: Sequence[Rule]) -> list[Finding]:
    """``--verify``: ask each finding's verifier (configured for its rule only). Needs ``--reveal``-free
    plaintext, so the tokens are re-read from the matches by the caller via ``revealed``."""
    from crawler.engine.verification import verify_tokens

    verdicts = asyncio.run(verify_tokens(cfg, rules, [(f.rule, f.revealed or "") for f in findings]))
    return [replace(f, status=v.status, status_reason=v.reason) for f, v in zip(findings, verdicts, strict=True)]
