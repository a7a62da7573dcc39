"""Which files ``leakpatrol scan`` reads, and why any other is not read.

* A path named on the command line is read even when git ignores it (explicit means explicit).
* A directory inside a git work tree is read as git would commit it (tracked plus
  untracked-not-ignored, asked of git itself so every ignore rule applies); ``--no-ignore``, or a
  directory outside any work tree, reads every file. ``.git/`` is never read.
* Only regular files are opened: FIFOs, sockets and devices are counted as "special file" (a FIFO
  would block ``open`` forever). A symbolic link whose target lies outside the scanned root is not
  followed unless ``--follow-symlinks`` is given; a link loop is counted, never walked.

Every file not read is yielded as a :class:`Skipped` with its reason, so the caller can count it.
"""

from __future__ import annotations

import errno
import os
import stat
import threading
from collections.abc import Iterator
from typing import NamedTuple

SPECIAL = "special file"
LOOP = "symlink loop"
OUTSIDE = "symlink outside the root"
UNREADABLE = "unreadable"
GONE = "no longer there"


class Skipped(NamedTuple):
    path: str
    why: str


class Target(NamedTuple):
    """A regular file to read: ``path`` opens it, ``size`` is its size when listed."""

    path: str
    size: int


def _git_files(directory: str) -> list[str] | None:
    """Tracked + untracked-but-not-ignored files under ``directory``; ``None`` outside a work tree."""
    import subprocess  # only for a folder: a scan of files starts without it

    try:
        out = subprocess.run(["git", "-C", directory, "ls-files", "-z", "--cached", "--others",
                              "--exclude-standard", "--deduplicate"], capture_output=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    base = _prefix(directory)
    return sorted(base + p for p in out.stdout.decode("utf-8", "surrogateescape").split("\0") if p)


def _prefix(directory: str) -> str:
    """What goes before a relative name, as ``Path(directory) / name`` would write it (``.`` adds nothing)."""
    directory = os.path.normpath(directory)  # once per folder, not per file
    return "" if directory == "." else directory + os.sep


def _git_listing(directory: str) -> list[str] | None:
    """:func:`_git_files`, or ``None`` (walk it all) when git ignores this folder as a whole (``dist/``):
    named explicitly, it is read all the same. Both questions are asked of git at the same time."""
    import subprocess

    try:
        check = subprocess.Popen(["git", "-C", directory, "check-ignore", "-q", "."], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
    except OSError:
        return None
    listed = _git_files(directory)
    try:
        ignored = check.wait(timeout=60) == 0
    except subprocess.TimeoutExpired:
        check.kill()
        check.wait()
        ignored = False
    return None if ignored else listed


def _walk(directory: str, follow: bool) -> Iterator[str]:
    seen: set[tuple[int, int]] = set()
    for root, dirs, files in os.walk(directory, followlinks=follow):
        prefix = _prefix(root)
        if follow:  # a followed link may lead back up: walk each real directory once
            st = os.stat(root)
            if (st.st_dev, st.st_ino) in seen:
                dirs[:] = []
                continue
            seen.add((st.st_dev, st.st_ino))
        kept = []
        for d in sorted(dirs):
            if d == ".git":
                continue
            if not follow and os.path.islink(prefix + d):
                yield prefix + d  # judged as an entry: inside the root it is reached anyway
                continue
            kept.append(d)
        dirs[:] = kept
        for name in sorted(files):
            yield prefix + name


def classify(path: str, root: str | None, follow: bool) -> Target | Skipped | None:
    """Decide about one listed path: read it, skip it (with the reason), or ``None`` when it is a
    link to a directory inside the root (its files are read through their real path)."""
    try:
        st = os.lstat(path)
    except OSError as exc:
        return Skipped(path, UNREADABLE if exc.errno != errno.ENOENT else GONE)
    if stat.S_ISLNK(st.st_mode):
        try:
            real = os.path.realpath(path, strict=True)
            st = os.stat(real)
        except OSError as exc:
            return Skipped(path, LOOP if exc.errno == errno.ELOOP else "broken symlink")
        if root is not None and not follow and os.path.commonpath([root, real]) != root:
            return Skipped(path, OUTSIDE)
        if stat.S_ISDIR(st.st_mode):
            return None
    if stat.S_ISDIR(st.st_mode):
        return None
    if not stat.S_ISREG(st.st_mode):
        return Skipped(path, SPECIAL)
    return Target(path, st.st_size)


Entry = tuple[str, str | None, bool]
"""A listed path not yet looked at: ``(path, root, follow)``; ``root`` is ``None`` for a path named on
the command line (read even if git ignores it, through a link too)."""


def list_entries(paths: list[str], *, no_ignore: bool = False, follow_symlinks: bool = False) -> Iterator[Entry]:
    """The command-line paths expanded into names, without looking at the files (no ``stat``):
    :func:`judge` does that, in whichever process reads the file."""
    for given in paths:
        if os.path.isdir(given):
            root = os.path.realpath(given)
            listed = None if no_ignore else _git_listing(given)
            entries = listed if listed is not None else _walk(given, follow_symlinks)
            for path in entries:  # neither git nor the walk lists anything under .git/
                yield path, root, follow_symlinks
        else:
            yield given, None, True


def judge(path: str, root: str | None, follow: bool) -> Target | Skipped | None:
    """What to do with one listed entry (``None``: nothing, it is a directory reached another way)."""
    item = classify(path, root, follow)
    if root is None:  # named explicitly
        return item if item is not None else Skipped(path, SPECIAL)
    if isinstance(item, Skipped) and item.why == GONE:
        return None  # a file git lists but the work tree deleted is not there to scan
    return item


def iter_targets(paths: list[str], *, no_ignore: bool = False, follow_symlinks: bool = False
                 ) -> Iterator[Target | Skipped]:
    """Expand the command-line paths into files to read (named as the user would write them)."""
    for entry in list_entries(paths, no_ignore=no_ignore, follow_symlinks=follow_symlinks):
        item = judge(*entry)
        if item is not None:
            yield item


class Listing(threading.Thread):
    """:func:`list_entries` in a thread (mostly waiting for git), its exception re-raised by ``result``."""

    def __init__(self, paths: list[str], no_ignore: bool, follow: bool) -> None:
        super().__init__(daemon=True)
        self.args = (paths, no_ignore, follow)
        self.entries: list[Entry] = []
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        paths, no_ignore, follow = self.args
        try:
            self.entries = list(list_entries(paths, no_ignore=no_ignore, follow_symlinks=follow))
        except BaseException as exc:  # re-raised where the scan waits for the listing
            self.error = exc

    def result(self) -> list[Entry]:
        self.join()  # before any fork: no thread is left running
        if self.error is not None:
            raise self.error
        return self.entries
