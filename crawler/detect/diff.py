"""Mapping a line of a unified-diff document to the line in the new file (``location.line``)."""

from __future__ import annotations

import re

# "@@ -a[,b] +c[,d] @@": digits only, anchored at the line start — linear.
_HUNK = re.compile(rb"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")


def new_file_line(patch: bytes, doc_line: int) -> int:
    """Line number in the new file for 1-based ``doc_line`` of ``patch``.

    Added and context lines advance the new-file counter; a removed line is reported at the
    new-file position where it was removed. Lines before any hunk header map to themselves.
    """
    new = None
    for i, line in enumerate(patch.split(b"\n"), start=1):
        m = _HUNK.match(line)
        if m:
            new = int(m.group(1))
            if i == doc_line:
                return new
            continue
        if i == doc_line:
            return doc_line if new is None else new
        if new is not None and not line.startswith((b"-", b"\\")):
            new += 1
    return doc_line
