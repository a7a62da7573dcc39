"""The ``crc32-base62`` checksum (GitHub's token scheme) — see DESIGN.md.

The last 6 body characters are ``zlib.crc32`` of the preceding body characters (ASCII; the prefix
is not included), base62-encoded with the alphabet ``0-9A-Za-z`` and left-padded with ``0``.
"""

from __future__ import annotations

import zlib

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
CHECKSUM_LEN = 6


def base62(n: int, width: int = CHECKSUM_LEN) -> str:
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = BASE62[r] + out
    return out.rjust(width, "0")


def crc32_base62(data: bytes) -> str:
    """The 6-character checksum of ``data`` (the body without its last 6 characters)."""
    return base62(zlib.crc32(data) & 0xFFFFFFFF)


def crc32_base62_ok(body: bytes) -> bool:
    """True if the last 6 bytes of ``body`` are the checksum of the rest."""
    if len(body) <= CHECKSUM_LEN:
        return False
    return crc32_base62(body[:-CHECKSUM_LEN]).encode("ascii") == body[-CHECKSUM_LEN:]
