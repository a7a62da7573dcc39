"""What the replay tests share: finding planted tokens as the engine would, and collecting outcomes."""

from __future__ import annotations

from crawler.detect.scanner import Scanner
from sources.base import Batch, Document, Park, Skip
from tests.sources.helpers import ACME


def found(docs: list[Document]) -> set[str]:
    """The tokens the scanner finds in ``docs`` (checksums verified offline, as in the pipeline)."""
    results = Scanner([ACME]).scan_batch([d.content for d in docs])
    return {m.token.decode() if isinstance(m.token, bytes) else m.token for matches in results for m in matches}


def skipped(batches: list[Batch]) -> list[Skip]:
    return [s for b in batches for s in b.skipped]


def parked(batches: list[Batch]) -> list[Park]:
    return [p for b in batches for p in b.parked]
