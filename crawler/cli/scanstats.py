"""What a scan read and skipped (:class:`Stats`), and the baseline file of known fingerprints."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from crawler.cli.output import Finding, printable
from crawler.cli.walk import Skipped
from crawler.kernel.errors import ConfigError


class Stats:
    """What a scan read and what it did not (by reason)."""

    __slots__ = ("bytes", "files", "seconds", "skipped")

    def __init__(self, files: int = 0, bytes: int = 0, seconds: float = 0.0,
                 skipped: list[Skipped] | None = None) -> None:
        self.files, self.bytes, self.seconds = files, bytes, seconds
        self.skipped: list[Skipped] = [] if skipped is None else skipped

    def __repr__(self) -> str:
        return f"Stats(files={self.files}, bytes={self.bytes}, seconds={self.seconds}, skipped={self.skipped!r})"

    def add(self, other: Stats) -> None:
        self.files += other.files
        self.bytes += other.bytes
        self.skipped += other.skipped

    def reasons(self) -> dict[str, int]:
        return dict(Counter(s.why for s in self.skipped).most_common())

    def as_json(self) -> dict[str, Any]:
        return {"files": self.files, "bytes": self.bytes, "seconds": round(self.seconds, 3),
                "skipped": len(self.skipped), "skipped_by_reason": self.reasons(),
                "skipped_files": [{"path": printable(s.path), "reason": s.why} for s in self.skipped]}

    def summary(self) -> str:
        line = f"scanned {self.files:,} file{'s' if self.files != 1 else ''}, {self.bytes / 1e6:,.1f} MB " \
               f"in {self.seconds:.2f} s"
        if self.skipped:
            line += f"; skipped {len(self.skipped):,}: " + ", ".join(f"{n} {why}" for why, n in self.reasons().items())
        if self.files == 0:
            line += " — nothing was read"
        return line


def load_baseline(path: str) -> set[str]:
    """A baseline is ``{"version": 1, "fingerprints": [...]}`` as ``--write-baseline`` writes it."""
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
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
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(json.dumps({"version": 1, "fingerprints": fps}, indent=2) + "\n")
