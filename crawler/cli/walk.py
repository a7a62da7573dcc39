"""Which files ``leakpatrol scan`` reads: skips ``.git/``, binary files and files over the cap, and
honours ``.gitignore`` inside a git work tree (asking git itself, so every ignore rule applies)."""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)
SNIFF = 8192


@dataclass(frozen=True)
class Skipped:
    path: str
    why: str


def is_binary(head: bytes) -> bool:
    """NUL bytes in the first 8 KiB mean binary (git's own heuristic)."""
    return b"\x00" in head[:SNIFF]


def _git_files(directory: Path) -> list[Path] | None:
    """Tracked + untracked-but-not-ignored files under ``directory``; ``None`` outside a work tree."""
    try:
        out = subprocess.run(["git", "-C", str(directory), "ls-files", "-z", "--cached", "--others",
                              "--exclude-standard", "--deduplicate"], capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    return [directory / p for p in out.stdout.decode("utf-8", "surrogateescape").split("\0") if p]


def _walk(directory: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if d != ".git")
        for name in sorted(files):
            yield Path(root) / name


def iter_files(paths: list[str]) -> Iterator[str]:
    """Expand the command-line paths into file paths (as the user would write them)."""
    for given in paths:
        p = Path(given)
        if p.is_dir():
            listed = _git_files(p)
            for f in sorted(listed) if listed is not None else _walk(p):
                if ".git" in f.parts or not f.is_file():
                    continue
                yield str(f)
        else:
            yield given


def read_file(path: str, cap: int) -> bytes | Skipped:
    """The file's bytes, or why it is skipped (binary, over the cap, unreadable)."""
    try:
        size = os.path.getsize(path)
        if size > cap:
            return Skipped(path, f"larger than {cap} bytes")
        with open(path, "rb") as fh:
            data = fh.read(cap + 1)
    except OSError as exc:
        return Skipped(path, exc.strerror or str(exc))
    if is_binary(data):
        return Skipped(path, "binary")
    return data
