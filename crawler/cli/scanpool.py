"""``scan -j N``: N processes share the parts of the listing, each reading and scanning its own.

The processes are forked once the rules are compiled (each inherits the scanner; nothing is
compiled or loaded again). The parts' numbers wait in a pipe, four bytes each, written before the
first fork; every process, this one included, takes the next number when it is free (a read of
four bytes from a pipe is one atomic step), so a process slowed down by a busy machine simply
takes fewer parts. A part is a list of file names: each process ``stat``s, opens, reads and scans
its files itself, and only the findings and counts travel back.

A forked process sends each part's results as soon as it has them, one frame per part: its length,
then :mod:`marshal` rows of plain values (a finding's rule as its index in the scanner's list, which
this process holds too). This process reads what has come after each part of its own and once it
has none left, so little is left to read and decode when the last part is done (pickling all of a
process's findings as objects at its end took 10-20 ms of a 0.2 s scan, after the scanning). The
results are put back in the parts' order, so the output is the same as with one process. A part
claimed by a process that then died (killed, out of memory) before its frame was whole is scanned
again by this one: nothing is lost silently.
"""

from __future__ import annotations

import contextlib
import marshal
import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from crawler.cli.inputs import Limits
from crawler.cli.output import Finding
from crawler.cli.scanstats import Stats
from crawler.cli.walk import Skipped
from crawler.detect.rules import Rule
from crawler.kernel import lazylog

logger = lazylog.Logger(__name__)
P = TypeVar("P")
Result = tuple[list[Finding], Stats]
ScanPart = Callable[[Any, P, Limits], None]
_PIPE_BYTES = 1 << 20
"""What a result pipe is asked to hold (Linux), so a process seldom waits for this one to read."""


def _claim(fd: int) -> int | None:
    raw = os.read(fd, 4)
    return int.from_bytes(raw, "little") if len(raw) == 4 else None


def _work_one(worker: Any, part: P, limits: Limits, scan_part: ScanPart[P]) -> Result:
    one = type(worker)(worker.scanner, worker.reveal)
    scan_part(one, part, limits)
    return one.findings, one.stats


def _frame(i: int, result: Result, index: dict[int, int]) -> bytes:
    """Part ``i``'s results as one frame: four bytes of length, then the marshal data."""
    found, stats = result
    data = marshal.dumps((i, [(index[id(f.rule)], *f[1:]) for f in found],
                          stats.files, stats.bytes, [(s.path, s.why) for s in stats.skipped]))
    return len(data).to_bytes(4, "little") + data


def _send(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _child(worker: Any, parts: Sequence[P], limits: Limits, claims: int, out: int,
           scan_part: ScanPart[P]) -> None:
    """The forked process's whole life: parts as long as there are any, each one's results into ``out``."""
    code = 1
    try:
        # This process never writes to stdout: it does not hold it open either, so whoever reads the
        # report sees its end when the first process ends, not when this one's memory is taken down.
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        index = {id(r): k for k, r in enumerate(worker.scanner.rules)}
        while (i := _claim(claims)) is not None:
            _send(out, _frame(i, _work_one(worker, parts[i], limits, scan_part), index))
        code = 0
    except BaseException:  # the parent rescans whatever this process does not return
        logger.debug("scan worker %d failed", os.getpid(), exc_info=True)
    finally:
        with contextlib.suppress(OSError):
            os.close(out)  # the end of the results, before this process's memory is taken down
        os._exit(code)  # never run the parent's clean-up (stdout buffers, atexit) a second time


class _Results:
    """What one forked process sends back, read as it comes (whole frames only)."""

    def __init__(self, pid: int, fd: int, rules: Sequence[Rule], done: dict[int, Result]) -> None:
        self.pid, self.fd, self.rules, self.done = pid, fd, rules, done
        self.buf = bytearray()
        self.open = True
        os.set_blocking(fd, False)

    def read(self, wait: bool) -> None:
        """Take in what has come (``wait``: everything, to the end)."""
        if wait:
            os.set_blocking(self.fd, True)
        while self.open:
            try:
                data = os.read(self.fd, _PIPE_BYTES)
            except BlockingIOError:
                break
            if not data:
                self.open = False
            self.buf += data
        self._frames()

    def _frames(self) -> None:
        buf, at = self.buf, 0
        while len(buf) - at >= 4:
            end = at + 4 + int.from_bytes(buf[at:at + 4], "little")
            if end > len(buf):
                break
            try:
                i, rows, files, size, skipped = marshal.loads(buf[at + 4:end])
                rules = self.rules
                found = [Finding(rules[row[0]], *row[1:]) for row in rows]
                self.done[i] = (found, Stats(files=files, bytes=size, skipped=[Skipped(p, w) for p, w in skipped]))
            except Exception:  # a damaged frame: its part is scanned again
                logger.debug("unreadable results from scan worker %d", self.pid, exc_info=True)
            at = end
        del buf[:at]

    def close(self) -> None:
        """Read to the end (a torn last frame is left out: scanned again). The process has closed its
        end and is exiting; it is reaped now if it is gone, else by the next pool (:func:`_reap`), so
        the scan does not wait while its memory is taken down."""
        self.read(wait=True)
        os.close(self.fd)
        pid, status = os.waitpid(self.pid, os.WNOHANG)
        if pid == 0:
            _EXITING.append(self.pid)
        elif os.waitstatus_to_exitcode(status) != 0:
            logger.debug("scan worker %d ended with status %d; the parts it did not return are scanned again",
                         self.pid, os.waitstatus_to_exitcode(status))


_EXITING: list[int] = []
"""Forked processes that had sent everything but not yet exited when their pool ended."""


def _reap() -> None:
    while _EXITING:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(_EXITING.pop(), 0)


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


def _pipe() -> tuple[int, int]:
    rd, wr = os.pipe()
    with contextlib.suppress(AttributeError, OSError):  # Linux only; 64 KiB otherwise
        import fcntl

        fcntl.fcntl(wr, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
    return rd, wr


def run_forked(worker: Any, parts: Sequence[P], limits: Limits, jobs: int, scan_part: ScanPart[P]) -> None:
    """Scan ``parts`` with this process and ``jobs - 1`` forked ones; add everything to ``worker``
    in the parts' order."""
    _reap()
    claims, feed = os.pipe()
    written = _offer(feed, len(parts))
    children: list[_Results] = []
    done: dict[int, Result] = {}
    try:
        for _ in range(min(jobs, len(parts)) - 1):
            rd, wr = _pipe()
            pid = os.fork()
            if pid == 0:  # pragma: no cover - runs in the child, which never returns
                os.close(rd)
                for other in children:
                    os.close(other.fd)
                _child(worker, parts, limits, claims, wr, scan_part)
            os.close(wr)
            children.append(_Results(pid, rd, worker.scanner.rules, done))
        while (i := _claim(claims)) is not None:
            done[i] = _work_one(worker, parts[i], limits, scan_part)
            for child in children:  # what the others sent meanwhile: decoded now, not at the end
                child.read(wait=False)
        for i in range(written, len(parts)):  # numbers that did not fit in the pipe
            done[i] = _work_one(worker, parts[i], limits, scan_part)
        while children:
            children[0].close()
            children.pop(0)
    finally:
        os.close(claims)
        for child in children:  # only after an exception here: stop the others
            with contextlib.suppress(OSError):
                os.kill(child.pid, 9)
                os.close(child.fd)
                os.waitpid(child.pid, 0)
    for i, part in enumerate(parts):
        found, stats = done[i] if i in done else _work_one(worker, part, limits, scan_part)
        worker.findings += found
        worker.stats.add(stats)
