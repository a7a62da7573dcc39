"""``leakpatrol scan``: the detection engine as a CI / pre-commit gate.

Exit codes: 0 nothing found, 1 findings, 2 usage or config error. No network request is made
unless ``--verify`` is given. Every file not scanned is counted by reason in :class:`Stats`.

``-j N`` scans with N processes (:mod:`crawler.cli.scanpool`: forked, each inheriting the scanner).
The listing is cut into parts; each process judges (``stat``), reads and scans the files of the
parts it takes, and the results are put back in the parts' order, so the findings come out in the
same order as with one process.
"""

from __future__ import annotations

import io
import os
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from stat import S_ISREG
from typing import IO, TYPE_CHECKING, Any, NamedTuple

from crawler.cli.inputs import CHUNK, OVER_SIZE, Doc, Limits, documents, plain
from crawler.cli.output import Finding
from crawler.cli.scanstats import Stats
from crawler.cli.walk import Entry, Listing, Skipped, Target, judge
from crawler.detect.rules import Rule
from crawler.detect.scanner import Scanner
from crawler.detect.windows import Located, scan_documents, scan_stream

if TYPE_CHECKING:
    from crawler.config.model import Config

BATCH = 1 << 20
PART_BYTES = 4 << 20
POOL_MIN_BYTES = 4 << 20
MANY_FILES = 512
"""From this many listed files on, the listing is cut by count and each process ``stat``s its own."""
PART_FILES = 64
MAX_PARTS = 4096


class ScanOutcome(NamedTuple):
    findings: list[Finding]
    stats: Stats


class Origin(NamedTuple):
    """Where a document came from in git history (``--git``)."""

    commit: str
    date: str
    lines: list[int]


# -- one process's work ----------------------------------------------------------------------


class Worker:
    """Scans documents with one scanner: small ones together, big ones as streams."""

    def __init__(self, scanner: Scanner, reveal: bool) -> None:
        self.scanner, self.reveal = scanner, reveal
        self.findings: list[Finding] = []
        self.stats = Stats()
        self._pending: list[tuple[str, bytes, bool, Origin | None]] = []
        """Whole documents waiting for the next batch: path, bytes, counted, origin."""
        self._size = 0

    def add_data(self, path: str, data: bytes, counted: bool = True, origin: Origin | None = None) -> None:
        """One whole document (the common case: a small plain file, read once), scanned with the batch."""
        self._pending.append((path, data, counted, origin))
        self._size += len(data)
        if self._size >= BATCH:
            self.flush()

    def add(self, item: Doc | Skipped, origin: Origin | None = None) -> None:
        if isinstance(item, Skipped):
            self.stats.skipped.append(item)
        elif item.data is not None:
            self.add_data(item.path, item.data, item.counted, origin)
        else:
            assert item.chunks is not None
            counted = _Counted(item.chunks())
            self._keep(item.path, scan_stream(self.scanner, counted), None)
            self.stats.bytes += counted.n if item.counted else 0
            if item.problem:  # scanned up to where the stream stopped: counted as not scanned whole
                self.stats.skipped.append(Skipped(item.path, item.problem))

    def flush(self) -> None:
        pending = self._pending
        for (path, data, counted, origin), located in zip(
                pending, scan_documents(self.scanner, [p[1] for p in pending]), strict=True):
            if located:
                self._keep(path, located, origin)
            if counted:
                self.stats.bytes += len(data)
        self._pending = []
        self._size = 0

    def _keep(self, path: str, located: Iterable[Located], origin: Origin | None) -> None:
        for loc in located:
            if loc.allowed:
                continue
            m = loc.match
            line = origin.lines[m.line - 1] if origin and m.line <= len(origin.lines) else m.line
            self.findings.append(Finding(
                rule=m.rule, fingerprint=m.fingerprint, redacted=m.redacted, path=path, line=line,
                column=m.column, column_utf16=loc.column_utf16, revealed=m.text if self.reveal else None,
                commit=origin.commit if origin else None, date=origin.date if origin else None))


class _Counted:
    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks, self.n = chunks, 0

    def __iter__(self) -> Iterator[bytes]:
        for c in self.chunks:
            self.n += len(c)
            yield c


def _file_opener(path: str) -> Any:
    return lambda: open(path, "rb", buffering=0)


def _scan_part(worker: Worker, part: Sequence[Target | Skipped | Entry], limits: Limits) -> None:
    """Read and scan one part of the listing; an entry not yet looked at is judged here first.

    The common entry, a small regular file (``lstat``: not a link, not special) that is plain text,
    is read at once; anything else, or a file that fails or changes on the way, is judged and read
    as always (its ``lstat`` is then made again)."""
    cap = limits.max_file_size
    for t in part:
        tried = False  # read once already, and not plain text: straight to documents()
        if not isinstance(t, (Target, Skipped)):  # an Entry, not yet looked at
            try:
                st = os.lstat(t[0])
            except OSError:
                pass
            else:
                size = st.st_size
                if S_ISREG(st.st_mode) and size < CHUNK and (cap is None or size <= cap):
                    if _add_plain(worker, t[0], size):
                        continue
                    tried = True
            judged = judge(*t)
            if judged is None:
                continue
            t = judged
        if isinstance(t, Skipped):
            worker.add(t)
            continue
        if cap is not None and t.size > cap:
            worker.add(Skipped(t.path, OVER_SIZE))
            continue
        if t.size < CHUNK and not tried and _add_plain(worker, t.path, t.size):
            continue
        add_file(worker, documents(t.path, _file_opener(t.path), limits))
    worker.flush()


def _add_plain(worker: Worker, path: str, size: int) -> bool:
    """The common case in one ``read``: a small file that is plain text (no archive, no byte-order mark,
    not binary). Anything else (or a file that changed size since it was listed) is left to
    :func:`documents`, which reads it again and decides as always."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        data = os.read(fd, size + 1)
    except OSError:
        return False
    finally:
        os.close(fd)
    if len(data) != size or not plain(data):
        return False
    worker.add_data(path, data)
    worker.stats.files += 1
    return True


def add_file(worker: Worker, items: Iterable[Doc | Skipped]) -> None:
    """One file's documents; the file counts as scanned when at least one of them was read."""
    read = False
    for item in items:
        read |= isinstance(item, Doc)
        worker.add(item)
    worker.stats.files += read


def _parts(entries: list[Entry]) -> tuple[list[list[Target | Skipped | Entry]], bool]:
    """The listing cut into consecutive parts, and whether more processes are worth starting.

    A long listing is cut by count without looking at the files (each process judges its own parts,
    so the ``stat`` calls run in parallel too). A short one is judged here and cut by size: parts of
    about ``PART_BYTES``, a big file alone, and more processes only above ``POOL_MIN_BYTES``."""
    if len(entries) >= MANY_FILES:
        n = max(PART_FILES, -(-len(entries) // MAX_PARTS))
        return [list(entries[i:i + n]) for i in range(0, len(entries), n)], True
    parts: list[list[Target | Skipped | Entry]] = []
    part: list[Target | Skipped | Entry] = []
    size = total = 0
    for entry in entries:
        t = judge(*entry)
        if t is None:
            continue
        big = isinstance(t, Target) and t.size > PART_BYTES
        if part and (big or size >= PART_BYTES):
            parts.append(part)
            part, size = [], 0
        part.append(t)
        size += t.size if isinstance(t, Target) else 0
        total += t.size if isinstance(t, Target) else 0
    if part:
        parts.append(part)
    return parts, total >= POOL_MIN_BYTES and len(parts) > 1


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


# -- entry points ----------------------------------------------------------------------------


def scan_paths(paths: Sequence[str], rules: Sequence[Rule], *, limits: Limits | None = None,
               baseline: set[str] | None = None, reveal: bool = False, jobs: int = 1, no_ignore: bool = False,
               follow_symlinks: bool = False, progress: IO[str] | None = None,
               listing: Listing | None = None) -> ScanOutcome:
    """Scan ``paths``; ``listing``, when given, is the same paths' listing already under way."""
    started = time.perf_counter()
    limits = limits or Limits()
    if list(paths) == ["-"]:
        worker = Worker(Scanner(rules), reveal)
        add_file(worker, _stdin_docs(sys.stdin.buffer))
        worker.flush()
    else:
        listing = listing or Listing(list(paths), no_ignore, follow_symlinks)  # git lists while the scanner is built
        worker = Worker(Scanner(rules), reveal)
        parts, worth = _parts(listing.result())
        if jobs > 1 and worth and hasattr(os, "fork"):
            from crawler.cli.scanpool import run_forked

            run_forked(worker, parts, limits, jobs, _scan_part)
        else:
            done = 0
            for part in parts:
                _scan_part(worker, part, limits)
                done += len(part)
                if progress is not None:  # a terminal: one line, rewritten, gone at the end
                    progress.write(f"\rscanning {done:,} files\x1b[K")
                    progress.flush()
            if progress is not None:
                progress.write("\r\x1b[K")
    return finish(worker, baseline, started)


def finish(worker: Worker, baseline: set[str] | None, started: float) -> ScanOutcome:
    seen: set[tuple[str, int, int, str, str | None]] = set()
    findings = []
    for f in worker.findings:  # a BOM file is scanned as text and as bytes: one report per place
        key = (f.path, f.line, f.column, f.fingerprint, f.commit)
        if key not in seen:
            seen.add(key)
            findings.append(f)
    if baseline:
        findings = [f for f in findings if f.fingerprint not in baseline]
    worker.stats.seconds = time.perf_counter() - started
    return ScanOutcome(findings, worker.stats)


def _stdin_docs(stream: IO[bytes]) -> Iterator[Doc | Skipped]:
    head = stream.read(CHUNK + 1)
    if len(head) <= CHUNK:
        yield from documents("-", lambda: io.BytesIO(head), Limits())
        return

    def chunks() -> Iterator[bytes]:
        yield head
        while chunk := stream.read(CHUNK):
            yield chunk

    yield Doc("-", -1, chunks=chunks)


def verify_findings(findings: list[Finding], cfg: Config | None, rules: Sequence[Rule]) -> list[Finding]:
    """``--verify``: ask each finding's verifier (configured for its rule only). Needs ``--reveal``-free
    plaintext, so the tokens are re-read from the matches by the caller via ``revealed``."""
    import asyncio

    from crawler.engine.verification import verify_tokens

    verdicts = asyncio.run(verify_tokens(cfg, rules, [(f.rule, f.revealed or "") for f in findings]))
    return [f._replace(status=v.status, status_reason=v.reason) for f, v in zip(findings, verdicts, strict=True)]
