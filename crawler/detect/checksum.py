"""Named checksum kinds of the rule format (``checksum = "<kind>"``), each checked offline.

A match whose checksum fails is discarded: never verified, stored or notified. Each kind knows how
to check a token (``ok``) and how to complete one (``complete``, used by minting). The kinds, with the
provider's published scheme (the test vectors are in ``tests/test_checksum.py``):

``crc32-base62`` (GitHub ``gh[pousr]_``, npm ``npm_``)
    The last 6 body characters are ``zlib.crc32`` of the preceding body characters (ASCII; the
    prefix is not included), base62-encoded with the alphabet ``0-9A-Za-z``, left-padded with ``0``.
    https://github.blog/engineering/platform-security/behind-githubs-new-authentication-token-formats/

``gitlab-routable`` (GitLab routable tokens, ``glpat-<payload>.<version>.<length><crc>``)
    The last 7 characters are ``zlib.crc32`` of everything before them, prefix included, in base36
    (``0-9a-z``), left-padded with ``0``; the 2 characters before them are the payload length in
    base36. The unversioned form ``<prefix><payload>.<length><crc>`` is checked the same way.
    gitlab-org/gitlab ``lib/authn/token_field/generator/routable_token.rb`` (``append_crc``).

``grafana-crc32-hex`` (Grafana service account tokens, ``glsa_<32>_<8 hex>``)
    The last 8 characters are ``zlib.crc32`` of everything before the last ``_`` (``glsa_<secret>``,
    prefix included), as the 4 little-endian bytes in lowercase hex.
    grafana/grafana ``pkg/components/satokengen`` (``binary.LittleEndian.PutUint32``).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from typing import NamedTuple

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
CHECKSUM_LEN = 6
GITLAB_CRC_LEN = 7


def _encode(n: int, alphabet: str, width: int) -> str:
    out, base = "", len(alphabet)
    while n:
        n, r = divmod(n, base)
        out = alphabet[r] + out
    return out.rjust(width, alphabet[0])


def base62(n: int, width: int = CHECKSUM_LEN) -> str:
    return _encode(n, BASE62, width)


def base36(n: int, width: int) -> str:
    return _encode(n, BASE36, width)


def crc32_base62(data: bytes) -> str:
    """The 6-character checksum of ``data`` (the body without its last 6 characters)."""
    return base62(zlib.crc32(data) & 0xFFFFFFFF)


def crc32_base62_ok(body: bytes) -> bool:
    """True if the last 6 bytes of ``body`` are the checksum of the rest."""
    if len(body) <= CHECKSUM_LEN:
        return False
    return crc32_base62(body[:-CHECKSUM_LEN]).encode("ascii") == body[-CHECKSUM_LEN:]


def _github_complete(prefix: str, body: str) -> str:
    head = body[:-CHECKSUM_LEN]
    return head + crc32_base62(head.encode("ascii"))


def _github_ok(prefix: bytes, body: bytes) -> bool:
    return crc32_base62_ok(body)


def gitlab_crc(data: bytes) -> str:
    return base36(zlib.crc32(data) & 0xFFFFFFFF, GITLAB_CRC_LEN)


def _gitlab_ok(prefix: bytes, body: bytes) -> bool:
    token = prefix + body
    dot = body.rfind(b".")
    if dot < 0 or len(body) - dot - 1 != 2 + GITLAB_CRC_LEN:
        return False
    length = body[dot + 1: dot + 3].decode("ascii", "replace")
    payload = body[: body.find(b".")]
    if length != base36(len(payload), 2):
        return False
    return gitlab_crc(token[:-GITLAB_CRC_LEN]).encode("ascii") == token[-GITLAB_CRC_LEN:]


def _gitlab_complete(prefix: str, body: str) -> str:
    payload = body[: body.find(".")]
    head = body[: body.rfind(".") + 1] + base36(len(payload), 2)
    return head + gitlab_crc((prefix + head).encode("ascii"))


def grafana_crc(data: bytes) -> str:
    return struct.pack("<I", zlib.crc32(data) & 0xFFFFFFFF).hex()


def _grafana_ok(prefix: bytes, body: bytes) -> bool:
    token = prefix + body
    cut = token.rfind(b"_")
    return cut > 0 and grafana_crc(token[:cut]).encode("ascii") == token[cut + 1:]


def _grafana_complete(prefix: str, body: str) -> str:
    head = body[: body.rfind("_")]
    return head + "_" + grafana_crc((prefix + head).encode("ascii"))


class ChecksumKind(NamedTuple):
    """``ok(prefix, body)`` checks a token; ``complete(prefix, body)`` rewrites a minted body so that it
    holds; ``min_body`` is the shortest body the kind can apply to; ``charset`` what it writes."""

    name: str
    ok: Callable[[bytes, bytes], bool]
    complete: Callable[[str, str], str]
    min_body: int
    charset: str


CHECKSUMS: dict[str, ChecksumKind] = {k.name: k for k in (
    ChecksumKind("crc32-base62", _github_ok, _github_complete, CHECKSUM_LEN + 1, BASE62),
    ChecksumKind("gitlab-routable", _gitlab_ok, _gitlab_complete, 2 + GITLAB_CRC_LEN + 2, BASE36),
    ChecksumKind("grafana-crc32-hex", _grafana_ok, _grafana_complete, 10, "0123456789abcdef"),
)}
"""Every kind the rule format accepts besides ``none`` (the config model lists the same names)."""
