"""The git modes of ``leakpatrol scan``, through the git command line.

* ``--staged``: exactly the content the next commit will hold (the index's blobs of the added,
  copied, modified, renamed and type-changed files), named by their path in the repository.
* ``--git [RANGE]``: the patches of each commit of ``git log RANGE`` (default ``HEAD``), the
  removed lines included (a token deleted in a later commit was still published). Each patch of a
  file is one document of its changed lines; a finding carries the commit, its author date, the
  path, and the line in the new file (added lines) or in the old one (removed lines).
"""

from __future__ import annotations

import functools
import io
import re
import subprocess
import time
from collections.abc import Iterator, Sequence

from crawler.cli.inputs import Doc, Limits, documents
from crawler.cli.scan import Origin, ScanOutcome, Worker, add_file, finish
from crawler.detect.rules import Rule
from crawler.detect.scanner import Scanner
from crawler.kernel.errors import LeakpatrolError

_HUNK = re.compile(rb"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")  # digits only, anchored: linear


class GitError(LeakpatrolError):
    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(f"git: {what}")


def _git(repo: str, *args: str) -> bytes:
    try:
        proc = subprocess.run(["git", "-C", repo, "-c", "core.quotePath=false", *args], capture_output=True,
                              timeout=600, check=False)
    except FileNotFoundError:
        raise GitError("the git command is not installed") from None
    if proc.returncode != 0:
        raise GitError(proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1] if proc.stderr else
                       f"git {' '.join(args)} failed")
    return proc.stdout


def _unquote(name: bytes) -> str:
    """git C-quotes a path holding control characters or quotes: ``"a\\tb"``."""
    if name.startswith(b'"') and name.endswith(b'"'):
        name = name[1:-1].decode("unicode_escape").encode("latin-1")
    return name.decode("utf-8", "surrogateescape")


def staged(repo: str) -> Iterator[tuple[str, bytes]]:
    """(path, staged content) of every file the next commit adds or changes."""
    names = [n for n in _git(repo, "diff", "--cached", "--name-only", "-z", "--no-renames",
                             "--diff-filter=ACMRT").split(b"\0") if n]
    if not names:
        return
    wanted = [n for n in names if b"\n" not in n]
    out = _git_batch(repo, b"".join(b":" + n + b"\n" for n in wanted))
    pos = 0
    for name in wanted:
        header_end = out.index(b"\n", pos)
        header = out[pos:header_end].split()
        pos = header_end + 1
        if len(header) < 3 or header[1] != b"blob":
            continue  # a submodule (commit) entry has no content here
        size = int(header[2])
        yield name.decode("utf-8", "surrogateescape"), out[pos:pos + size]
        pos += size + 1


def _git_batch(repo: str, request: bytes) -> bytes:
    proc = subprocess.run(["git", "-C", repo, "cat-file", "--batch"], input=request, capture_output=True,
                          timeout=600, check=False)
    if proc.returncode != 0:
        raise GitError(proc.stderr.decode("utf-8", "replace").strip() or "git cat-file failed")
    return proc.stdout


class Patch:
    """The changed lines of one file in one commit; ``lines[i]`` is the file line of document line i+1."""

    __slots__ = ("body", "commit", "date", "lines", "path")

    def __init__(self, commit: str, date: str, path: str) -> None:
        self.commit, self.date, self.path = commit, date, path
        self.body = io.BytesIO()
        self.lines: list[int] = []

    @property
    def data(self) -> bytes:
        return self.body.getvalue()


def history(repo: str, rev_range: str) -> Iterator[Patch]:
    """Every file patch of ``git log -p RANGE``, oldest line numbers for removed lines."""
    if rev_range.startswith("-"):
        raise GitError(f"not a revision range: {rev_range!r}")
    cmd = ["git", "-C", repo, "-c", "core.quotePath=false", "log", "-p", "-U0", "--no-color", "--no-ext-diff",
           "--no-textconv", "--format=%x00%H %aI", rev_range, "--"]
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except FileNotFoundError:
        raise GitError("the git command is not installed") from None
    assert proc.stdout is not None and proc.stderr is not None
    commit = date = ""
    patch: Patch | None = None
    in_header = False
    old = new = 0
    for raw in proc.stdout:
        line = raw[:-1] if raw.endswith(b"\n") else raw
        if line.startswith(b"\0"):
            if patch is not None:
                yield patch
            patch, in_header = None, False
            commit, _, d = line[1:].decode().partition(" ")
            date = d.strip()
        elif line.startswith(b"diff --git "):
            if patch is not None:
                yield patch
            patch, in_header = None, True
        elif in_header and line.startswith((b"--- ", b"+++ ")):
            if line[4:] != b"/dev/null":  # the new name wins; a deleted file keeps its old one
                path = _unquote(line[4:])
                patch = Patch(commit, date, path[2:] if path[:2] in ("a/", "b/") else path)
        elif (m := _HUNK.match(line)) is not None:
            in_header = False
            old, new = int(m.group(1)), int(m.group(2))
        elif patch is not None and not in_header and line[:1] in (b"+", b"-"):
            patch.body.write(line[1:] + b"\n")
            if line[:1] == b"+":
                patch.lines.append(new)
                new += 1
            else:
                patch.lines.append(old)
                old += 1
    if patch is not None:
        yield patch
    err = proc.stderr.read()
    if proc.wait() != 0:
        raise GitError(err.decode("utf-8", "replace").strip().splitlines()[-1] if err else "git log failed")


def scan_staged(repo: str, rules: Sequence[Rule], *, limits: Limits, baseline: set[str] | None,
                reveal: bool) -> ScanOutcome:
    started = time.perf_counter()
    worker = Worker(Scanner(rules), reveal)
    for path, blob in staged(repo):
        add_file(worker, documents(path, functools.partial(io.BytesIO, blob), limits))
    worker.flush()
    return finish(worker, baseline, started)


def scan_history(repo: str, rev_range: str, rules: Sequence[Rule], *, baseline: set[str] | None,
                 reveal: bool) -> ScanOutcome:
    started = time.perf_counter()
    worker = Worker(Scanner(rules), reveal)
    for patch in history(repo, rev_range):
        if not patch.lines:
            continue  # a binary patch, a mode change or a rename without changes
        worker.stats.files += 1
        data = patch.data
        worker.add(Doc(patch.path, len(data), data=data), Origin(patch.commit, patch.date, patch.lines))
    worker.flush()
    return finish(worker, baseline, started)
