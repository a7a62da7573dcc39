"""Private files written once: the encryption key and the signing key (mode 0600, never overwritten)."""

from __future__ import annotations

import os
from pathlib import Path


def write_private_file(path: Path, text: str) -> bool:
    """Create ``path`` with mode 0600 holding ``text``; never overwrite an existing file. ``False`` if
    another process created it first (the file appears complete or not at all: written aside, then linked)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)
