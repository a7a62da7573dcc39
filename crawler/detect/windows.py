"""Scanning input of any size in bounded memory, and placing each match in its file.

A stream is cut into windows of ``window`` bytes that overlap by the longest token any rule can
match (plus one byte each side, for the boundary checks). A window *owns* the matches that start in
its first ``window`` bytes; the overlap lets a token that crosses the edge be confirmed whole, and
ownership makes it reported exactly once. Line numbers and columns are counted across windows.

:class:`Located` adds what a report needs beyond :class:`~crawler.detect.scanner.Match`: the
column in UTF-16 code units (SARIF's default) and whether the line carries ``leakpatrol:allow``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

from crawler.detect.rules import Rule
from crawler.detect.scanner import Match, Scanner

WINDOW = 8 << 20
ALLOW = b"leakpatrol:allow"


class Located(NamedTuple):
    match: Match
    column_utf16: int
    allowed: bool


def _locate(data: bytes, m: Match, line: int, column: int, start: int) -> Located:
    """``m`` found at ``start`` in ``data``; ``line``/``column`` are its place in the whole file."""
    lo = data.rfind(b"\n", 0, start) + 1
    hi = data.find(b"\n", start)
    before = data[lo:start].decode("utf-8", "replace")
    units = len(before.encode("utf-16-le", "surrogatepass")) // 2
    # A line that began before this window: the bytes not seen here are counted one unit each.
    col16 = units + 1 + (column - 1 - (start - lo))
    moved = m._replace(line=line, column=column) if (line, column) != (m.line, m.column) else m
    return Located(moved, col16, ALLOW in data[lo: hi if hi >= 0 else len(data)])


def locate_all(data: bytes, matches: Iterable[Match]) -> list[Located]:
    """Matches of one whole document."""
    return [_locate(data, m, m.line, m.column, m.start) for m in matches]


def scan_documents(scanner: Scanner, docs: Sequence[bytes]) -> list[list[Located]]:
    """Whole documents, scanned together (one engine call per ~1 MiB)."""
    return [locate_all(d, ms) if ms else [] for d, ms in zip(docs, scanner.scan_batch(docs), strict=True)]


def overlap(scanner: Scanner) -> int:
    """The longest token any rule matches (its lead included), plus how far after it a paired rule
    looks for its companion, plus the byte on each side."""
    return max((_lead(r) + len(r.prefix_bytes) + r.max_len + _reach(r) for r in scanner.rules), default=0) + 2


def lookback(scanner: Scanner) -> int:
    """How far before a match's start a rule reads: a paired rule's companion may stand there."""
    return max((_reach(r) for r in scanner.rules), default=0)


def _lead(rule: Rule) -> int:
    return rule.lead.max_len if rule.lead else 0


def _reach(rule: Rule) -> int:
    return rule.companion.within + rule.companion.max_len if rule.companion else 0


def scan_stream(scanner: Scanner, chunks: Iterable[bytes], window: int = WINDOW) -> Iterator[Located]:
    """Every match in the concatenation of ``chunks``, each once, holding about two windows in memory.

    ``buf[0]`` sits at offset ``base`` of the stream; ``nl_before`` newlines lie before ``base`` and
    the last of them at ``last_nl`` (-1: none). From the second window on, ``buf`` starts ``back``
    bytes (a paired rule's companion may stand there) plus one byte (the left boundary check needs
    it) before the owned part.
    """
    extra, back = overlap(scanner), lookback(scanner)
    window = max(window, back + 2)
    buf, base, own, nl_before, last_nl = b"", 0, 0, 0, -1

    def emit(data: bytes, lo: int, hi: int) -> Iterator[Located]:
        for m in scanner.scan(data):
            if lo <= m.start < hi:
                line = nl_before + m.line
                column = m.column if m.line > 1 else base + m.start - last_nl
                pair = (base + m.companion[0], base + m.companion[1]) if m.companion else None
                moved = m._replace(start=base + m.start, end=base + m.end, companion=pair)
                yield _locate(data, moved, line, column, m.start)

    for chunk in chunks:
        buf = buf + chunk if buf else chunk
        while len(buf) >= own + window + extra:
            yield from emit(buf[: own + window + extra], own, own + window)
            cut = own + window - 1 - back
            nl_before += buf.count(b"\n", 0, cut)
            p = buf.rfind(b"\n", 0, cut)
            if p >= 0:
                last_nl = base + p
            buf, base, own = buf[cut:], base + cut, 1 + back
    yield from emit(buf, own, len(buf) + 1)
