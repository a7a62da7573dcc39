"""``scan -j N``: N processes share the parts of the listing, each reading and scanning its own.

The processes are forked once the rules are compiled (each inherits the scanner; nothing is
compiled or loaded again). The parts' numbers wait in a pipe, four bytes each, written before the
first fork; every process, this one included, takes the next number when it is free (a read of
four bytes from a pipe is one atomic step), so a process slowed down by a busy machine simply
takes fewer parts. A part is a list of file names: each process ``stat``s, opens, reads and scans
its files itself, and only the findings and counts travel back, pickled once per process at its
end (rules by their index, not their contents). They are put back in the parts' order, so the
output is the same as with one process. A part claimed by a process that then died (killed, out
of memory) is scanned again by this one: nothing is lost silently.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import pickle
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from crawler.cli.inputs import Limits
from crawler.cli.output import Finding
from crawler.cli.scanstats import Stats
from crawler.detect.rules import Rule

logger = logging.getLogger(__name__)
P = TypeVar("P")
Results = dict[int, tuple[list[Finding], Stats]]


class _Out(pickle.Pickler):
    """Pickles a rule as its index in the scanner's list (the parent holds the same list)."""

    def __init__(self, fh: io.BytesIO, index: dict[int, int]) -> None:
        super().__init__(fh, protocol=pickle.HIGHEST_PROTOCOL)
        self.index = index

    def persistent_id(self, obj: Any) -> int | None:
        return self.index.get(id(obj)) if isinstance(obj, Rule) else None


class _In(pickle.Unpickler):
    def __init__(self, fh: io.BytesIO, rules: Sequence[Rule]) -> None:
        super().__init__(fh)
        self.rules = rules

    def persistent_load(self, pid: Any) -> Rule:
        return self.rules[int(pid)]


def _claim(fd: int) -> int | None:
    raw = os.read(fd, 4)
    return int.from_bytes(raw, "little") if len(raw) == 4 else None


def _work(worker: Any, parts: Sequence[P], limits: Limits, claims: int,
          scan_part: Callable[[Any, P, Limits], None]) -> Results:
    """Scan parts as long as there are numbers to claim; each part's results apart."""
    done: Results = {}
    while (i := _claim(claims)) is not None:
        one = type(worker)(worker.scanner, worker.reveal)
        scan_part(one, parts[i], limits)
        done[i] = (one.findings, one.stats)
    return done


def _child(worker: Any, parts: Sequence[P], limits: Limits, claims: int, out: int,
           scan_part: Callable[[Any, P, Limits], None]) -> None:
    """The forked process's whole life: its share of the parts, then its results into ``out``."""
    code = 1
    try:
        done = _work(worker, parts, limits, claims, scan_part)
        buf = io.BytesIO()
        _Out(buf, {id(r): k for k, r in enumerate(worker.scanner.rules)}).dump(done)
        with os.fdopen(out, "wb") as fh:
            fh.write(buf.getbuffer())
        code = 0
    except BaseException:  # the parent rescans whatever this process does not return
        logger.debug("scan worker %d failed", os.getpid(), exc_info=True)
    finally:
        os._exit(code)  # never run the parent's clean-up (stdout buffers, atexit) a second time


def _collect(pid: int, fd: int, rules: Sequence[Rule]) -> Results:
    """One child's results; none if it failed (its parts are then scanned again)."""
    with os.fdopen(fd, "rb") as fh:
        raw = fh.read()
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        logger.debug("scan worker %d ended with status %d; its parts are scanned again", pid,
                     os.waitstatus_to_exitcode(status))
        return {}
    try:
        done: Results = _In(io.BytesIO(raw), rules).load()
    except Exception:  # a torn message: scanned again
        logger.debug("unreadable results from scan worker %d", pid, exc_info=True)
        return {}
    return done


def _offer(feed: int, n: int) -> int:
    """Write the numbers 0..n-1 into the pipe (without blocking) and close it; how many went in. The
    ones that did not fit (a pipe holds 64 KiB on Linux, 16 KiB at least elsewhere) are left to the
    parent."""
    numbers = b"".join(i.to_bytes(4, "little") for i in range(n))
    os.set_blocking(feed, False)
    try:
        written = os.write(feed, numbers) // 4 if numbers else 0
    except BlockingIOError:
        written = 0
    os.close(feed)
    return written


def run_forked(worker: Any, parts: Sequence[P], limits: Limits, jobs: int,
               scan_part: Callable[[Any, P, Limits], None]) -> None:
    """Scan ``parts`` with this process and ``jobs - 1`` forked ones; add everything to ``worker``
    in the parts' order."""
    claims, feed = os.pipe()
    written = _offer(feed, len(parts))
    children: list[tuple[int, int]] = []
    done: Results = {}
    try:
        for _ in range(min(jobs, len(parts)) - 1):
            rd, wr = os.pipe()
            pid = os.fork()
            if pid == 0:  # pragma: no cover - runs in the child, which never returns
                os.close(rd)
                for _pid, other in children:
                    os.close(other)
                _child(worker, parts, limits, claims, wr, scan_part)
            os.close(wr)
            children.append((pid, rd))
        done = _work(worker, parts, limits, claims, scan_part)
        for i in range(written, len(parts)):  # numbers that did not fit in the pipe
            done[i] = _work_one(worker, parts[i], limits, scan_part)
        while children:
            pid, rd = children.pop(0)
            done.update(_collect(pid, rd, worker.scanner.rules))
    finally:
        os.close(claims)
        for pid, rd in children:  # only after an exception here: stop the others
            with contextlib.suppress(OSError):
                os.kill(pid, 9)
                os.close(rd)
                os.waitpid(pid, 0)
    for i, part in enumerate(parts):
        found, stats = done[i] if i in done else _work_one(worker, part, limits, scan_part)
        worker.findings += found
        worker.stats.add(stats)


def _work_one(worker: Any, part: P, limits: Limits, scan_part: Callable[[Any, P, Limits], None]
              ) -> tuple[list[Finding], Stats]:
    one = type(worker)(worker.scanner, worker.reveal)
    scan_part(one, part, limits)
    return one.findings, one.stats
