"""Scanning off the event loop: documents are scanned in worker processes, under a time limit each.

Rule confirmation runs on RE2 (linear time), so no rule can make a scan exponential; but a document
of many megabytes full of candidates still takes a while, and on the event loop every other source,
``/healthz`` and SIGTERM would wait for it. Here a batch of documents goes in chunks of a few MiB to
the workers of a small pool of processes (:mod:`crawler.kernel.isolate`), in parallel; the loop only
awaits them.

A chunk has ``[scanner] time_limit`` seconds. A chunk over it is scanned again one document at a
time, each with the same limit, so the document that hangs is found and only it is lost: it is
recorded as skipped (``reason="scan_time_limit"``) and its worker is killed and replaced. A worker
that dies (``MemoryError``, a crash) is replaced the same way and its documents are skipped with
``reason="scan_failed"``.

The compiled rules cross to a worker once (about 1.3 MB pickled for the built-in pack), in a call of
their own under a generous limit: a scan names them by a digest, and a worker that does not know it
yet answers :data:`NEED_RULES` and is sent them. A worker keeps the scanners of the last few rule sets
it was sent.
"""

from __future__ import annotations

import asyncio
import hashlib
import pickle
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from crawler.detect.rules import Rule
from crawler.detect.scanner import Match, Scanner
from crawler.kernel.isolate import WorkerPool, WorkFailed, WorkTimedOut

NEED_RULES = "need-rules"
"""A worker's answer when it has no scanner for the rules a call names (the caller sends them)."""
CHUNK_BYTES = 4 << 20
"""A batch of documents is sent to the workers in chunks of about this many bytes, in parallel."""
LOAD_LIMIT = 120.0
"""Seconds a worker may take to unpickle the rules and build its scanner (not a document's limit)."""
KEPT_SCANNERS = 4
"""Rule sets (scanners) one worker keeps; the oldest goes when another comes."""

_scanners: dict[str, Scanner] = {}
"""In a worker: the scanners of the rule sets it was sent, by digest."""

Hit = tuple[str, int, int, int, int, bytes, tuple[int, int] | None]
"""A match as it crosses the pipe: rule id, start, end, line, column, token, companion span."""


def scan_in_worker(key: str, rules: bytes | None, max_bytes: int | None,
                   docs: list[bytes]) -> str | tuple[list[list[Hit]], dict[str, int]]:
    """Runs in a worker: scan ``docs`` with the rules named ``key`` (unpickled from ``rules`` when
    given). Returns the hits per document and the bad-checksum counts of this call."""
    scanner = _scanners.get(key)
    if scanner is None:
        if rules is None:
            return NEED_RULES
        while len(_scanners) >= KEPT_SCANNERS:
            del _scanners[next(iter(_scanners))]
        scanner = _scanners[key] = Scanner(pickle.loads(rules), max_document_bytes=max_bytes)
    scanner.stats.bad_checksum.clear()
    hits = [[(m.rule.id, m.start, m.end, m.line, m.column, m.token, m.companion) for m in found]
            for found in scanner.scan_batch(docs)]
    return hits, dict(scanner.stats.bad_checksum)


@dataclass(frozen=True)
class NotScanned:
    """A document its scan could not finish: ``reason`` is ``scan_time_limit`` or ``scan_failed``."""

    reason: str
    detail: str


class ScanWorkers:
    """Scans batches of documents in ``pool`` with ``rules``; counts bad checksums like a :class:`Scanner`."""

    def __init__(self, rules: Sequence[Rule], pool: WorkerPool, *, time_limit: float,
                 max_document_bytes: int | None = None) -> None:
        self.pool, self.time_limit, self.max_bytes = pool, time_limit, max_document_bytes
        self.rules = {r.id: r for r in rules}
        self._blob = pickle.dumps(list(rules), protocol=pickle.HIGHEST_PROTOCOL)
        self.key = hashlib.sha256(self._blob + repr(max_document_bytes).encode()).hexdigest()
        self.bad_checksum: Counter[str] = Counter()

    async def warm(self) -> None:
        """Start the pool's workers and give them the rules (the first document is then not delayed)."""
        await asyncio.gather(*(self._load() for _ in range(self.pool.size)))

    async def _load(self) -> None:
        """Give a worker the rules, outside any document's time limit (unpickling them and building the
        scanner takes a while, and a replaced worker counting it against a document would time out
        again, and again)."""
        await self.pool.run(scan_in_worker, self.key, self._blob, self.max_bytes, [], limit=LOAD_LIMIT,
                            what="loading the rules into a scan worker")

    async def scan(self, docs: Sequence[bytes]) -> list[list[Match] | NotScanned]:
        """Every match per document; a document whose scan failed or ran out of time is a :class:`NotScanned`.

        The documents go in chunks of about :data:`CHUNK_BYTES`, as many at once as the pool has workers."""
        chunks: list[list[bytes]] = [[]]
        size = 0
        for doc in docs:
            if chunks[-1] and size + len(doc) > CHUNK_BYTES:
                chunks.append([])
                size = 0
            chunks[-1].append(doc)
            size += len(doc)
        results = await asyncio.gather(*(self._scan_chunk(chunk) for chunk in chunks if chunk))
        return [found for chunk in results for found in chunk]

    async def _scan_chunk(self, docs: list[bytes], *, retry: bool = True) -> list[list[Match] | NotScanned]:
        try:
            return self._matches(await self._call(docs))
        except WorkTimedOut as exc:
            if len(docs) == 1:
                return [NotScanned("scan_time_limit", str(exc))]
        except WorkFailed as exc:
            if len(docs) == 1:  # its worker died: once more, on a fresh one
                return await self._scan_chunk(docs, retry=False) if retry else [NotScanned("scan_failed", str(exc))]
        out: list[list[Match] | NotScanned] = []
        for doc in docs:  # the chunk failed: alone, each document gets the whole limit
            out += await self._scan_chunk([doc])
        return out

    async def _call(self, docs: list[bytes]) -> tuple[list[list[Hit]], dict[str, int]]:
        what = f"scanning {len(docs)} document(s)"
        for _ in range(self.pool.size + 1):  # the pool hands out the worker it got back last: one load is the rule
            answer = await self.pool.run(scan_in_worker, self.key, None, self.max_bytes, docs,
                                         limit=self.time_limit, what=what)
            if answer != NEED_RULES:
                break
            await self._load()
        else:  # other calls kept taking the loaded workers: send the rules along this once
            answer = await self.pool.run(scan_in_worker, self.key, self._blob, self.max_bytes, docs,
                                         limit=self.time_limit, what=what)
        if not isinstance(answer, tuple):
            raise WorkFailed(f"{what}: the worker answered {answer!r}")
        return answer

    def _matches(self, answer: tuple[list[list[Hit]], dict[str, int]]) -> list[list[Match] | NotScanned]:
        hits, bad = answer
        self.bad_checksum.update(bad)
        return [[Match(self.rules[rid], start, end, line, col, token, pair)
                 for rid, start, end, line, col, token, pair in found] for found in hits]


_pools: dict[int, WorkerPool] = {}


def scan_pool(size: int) -> WorkerPool:
    """The process-wide pool of ``size`` scan workers (engines of one process share it; its workers
    start on the first call and keep the scanners of the rule sets they were sent)."""
    if size not in _pools:
        _pools[size] = WorkerPool(size, preload=(__name__,))
    return _pools[size]

