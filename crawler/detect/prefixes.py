"""Every occurrence of a set of literal prefixes, for the pure-Python engine: linear time, C-speed scans.

Each prefix is found by one of three kinds of scan, planned once per rule set from a fixed
byte-frequency table (:data:`FREQUENCY`) and measured costs (:func:`_plan`, a greedy weighted set
cover: as few passes over the text as possible):

* ``find``: a prefix holding a byte that is rare in typical text (``K`` in ``AKIA``, ``J`` in
  ``eyJrIjoi``, ``~`` in ``Q~``) is found by looking for that byte with ``bytes.find`` (memchr: a
  pass costs almost nothing) and comparing the prefixes around each occurrence (one dict look-up on
  the neighbouring byte, then ``startswith``). Work: a few steps per occurrence of the byte.
* ``last``: prefixes sharing their last byte, mostly a delimiter (``ghp_``, ``sk-``, ``hvs.``), in
  one regex: a trie of the reversed prefixes, which starts with that byte as a literal (``re`` scans
  for a leading literal in C), searched over the reversed buffer.
* ``first``: prefixes sharing their first byte (``AKIA``, ``AIza``, ``AC``; ``pat``), a trie of
  the prefixes over the buffer itself.

In a trie each alternative starts with a distinct literal and each prefix's end carries a fixed-width
check of the first body bytes (the union of what the rules with that prefix allow: ``pat`` in
``path`` is not proposed), so a position costs at most one step per byte of the longest prefix plus
that check: nothing backtracks past it, the search is linear in the text. With the built-in pack
that is 15 regex passes and 4 ``find`` anchors, where grouping every prefix by its last byte took 29
passes. The scans only *propose* ``(offset, prefix)``; the scanner confirms each candidate.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

FOLLOW = 8
"""How many body bytes after a prefix the regex checks (only at a prefix's end, so only on hits)."""

_TABLE = (
    b" etsarinolcd,pf_um.()\"h:g='yb0x1-2vwk[]TE*SA3#N45>ICR`6P8q97DLF\\M+O/zGj{}BWUVHK<|%@XQZYJ!?;~^$&",
    (26433, 6418, 4464, 4009, 3802, 3725, 3322, 3305, 3163, 2452, 1827, 1786, 1733, 1680, 1645, 1577, 1444,
     1423, 1343, 1338, 1338, 1096, 988, 962, 882, 868, 809, 777, 690, 630, 618, 581, 517, 445, 439, 409, 369,
     326, 325, 320, 304, 303, 296, 295, 283, 266, 237, 225, 218, 209, 208, 204, 197, 197, 180, 170, 164, 163,
     159, 157, 151, 151, 144, 136, 135, 130, 122, 120, 119, 97, 95, 89, 89, 86, 83, 70, 62, 57, 39, 38, 38,
     31, 30, 30, 28, 24, 22, 17, 16, 16, 13, 12, 11, 10, 7),
)
FREQUENCY: dict[int, int] = dict(zip(_TABLE[0], _TABLE[1], strict=True))
"""Occurrences per 100,000 bytes of each printable ASCII byte in typical text, counted once over the
CPython 3.11 standard library's ``*.py`` files (162 MB); a fixed table, so the plan does not depend on
what was scanned before. Bytes not listed (controls, non-ASCII) count as rare."""

RARE = 100
"""A byte at most this frequent (0.1 %) may be a ``find`` anchor: past that, a few Python steps per
occurrence cost more than one more ``re`` pass over the text."""


def byte_class(chars: bytes) -> bytes:
    return b"[" + b"".join(b"\\x%02x" % c for c in sorted(chars)) + b"]"


def literal(text: bytes) -> bytes:
    return b"".join(b"\\x%02x" % c for c in text)


@functools.cache
def _ranges(table: bytes) -> bytes:
    """The bytes a 256-entry table allows as a regex class of ranges (``[\\x30-\\x39...]``); empty
    when it allows every byte (nothing to check)."""
    if all(table):
        return b""
    out, b = b"", 0
    while b < 256:
        if not table[b]:
            b += 1
            continue
        e = b
        while e + 1 < 256 and table[e + 1]:
            e += 1
        out += b"\\x%02x" % b + (b"-\\x%02x" % e if e > b else b"")
        b = e + 1
    return b"[" + out + b"]" if out else b"[^\\x00-\\xff]"


def _classes(follow: Sequence[bytes]) -> bytes:
    """Bytes allowed by ``follow`` (256-entry tables), one per position, as a regex (runs of one table
    as ``class{n}``)."""
    out, i = b"", 0
    while i < len(follow):
        j = i
        while j < len(follow) and follow[j] == follow[i]:
            j += 1
        out += (_ranges(follow[i]) or b"[\\x00-\\xff]") + (b"{%d}" % (j - i) if j - i > 1 else b"")
        i = j
    return out


def _body_check(prefix: bytes, follow: Sequence[bytes], backwards: bool) -> bytes:
    """The zero-width check at a prefix's end in the trie: a lookahead over the text, or over the
    reversed text a fixed-width lookbehind (the body is before the reversed prefix there); empty when
    nothing is constrained."""
    follow = list(follow)
    while follow and all(follow[-1]):
        follow.pop()  # the last positions allow anything: they check nothing
    if not follow:
        return b""
    if not backwards:
        return b"(?=" + _classes(follow) + b")"
    return b"(?<=" + _classes(follow[::-1]) + literal(prefix[::-1]) + b")"


def trie_pattern(words: Mapping[bytes, bytes]) -> bytes:
    """A regex for the longest of ``words`` (each with the assertion to check where it ends) starting
    at a position, the words nested as a trie: each alternative starts with a distinct literal, so a
    position costs one step per byte matched and backtracking never goes past the longest word."""
    trie: dict[int, Any] = {}
    for word, check in words.items():
        node = trie
        for c in word:
            node = node.setdefault(c, {})
        node[-1] = check

    def emit(node: dict[int, Any]) -> bytes:
        alts = [literal(bytes([c])) + emit(sub) for c, sub in sorted(node.items()) if c >= 0]
        if -1 in node:
            alts.append(node[-1])  # after the longer words: the shortest is tried last
        return alts[0] if len(alts) == 1 else b"(?:" + b"|".join(alts) + b")"

    return emit(trie)


# Costs for the plan in ms per MB of text, measured with CPython 3.11 on the benchmark machine (bench/
# scan.py's corpus): one ``re`` pass whose leading literal occurs ``f`` times per 100,000 bytes costs
# PASS + f * ENTRY (the literal scan is a C byte loop); a ``find`` anchor costs f * HIT (memchr is
# nearly free, each occurrence is a few Python steps). Only the plan depends on them, never a result.
PASS, ENTRY, HIT = 0.28, 0.00015, 0.003


def _plan(prefixes: Iterable[bytes]) -> dict[bytes, tuple[str, int]]:
    """Per prefix ``(kind, byte)``: ``"find"`` on one of its bytes, ``"last"`` (a trie over the reversed
    text keyed by its last byte) or ``"first"`` (a trie over the text keyed by its first byte); a
    greedy weighted set cover, so that few passes cover every prefix."""
    options: dict[tuple[str, int], set[bytes]] = {}
    for p in prefixes:
        options.setdefault(("last", p[-1]), set()).add(p)
        options.setdefault(("first", p[0]), set()).add(p)
        if min(FREQUENCY.get(c, 0) for c in p) <= RARE:
            for c in set(p):
                if FREQUENCY.get(c, 0) <= RARE:
                    options.setdefault(("find", c), set()).add(p)

    def cost(key: tuple[str, int]) -> float:
        f = FREQUENCY.get(key[1], 0)
        return f * HIT if key[0] == "find" else PASS + f * ENTRY

    everything = {p for ps in options.values() for p in ps}
    left, chosen = set(everything), []
    while left:
        key = min(options, key=lambda k: (cost(k) / len(options[k] & left) if options[k] & left else float("inf"), k))
        chosen.append(key)
        left -= options[key]
    # A prefix goes to a chosen pass when one covers it (no per-hit Python), else to its anchor.
    order = sorted(chosen, key=lambda k: (k[0] == "find", cost(k)))
    return {p: next(k for k in order if p in options[k]) for p in everything}


class PrefixFinder:
    """``find(data)`` lists ``(offset, prefix)`` for every occurrence of every prefix whose first
    ``FOLLOW`` body bytes fit (prefixes found by a rare anchor are proposed without the body check)."""

    def __init__(self, prefixes: Iterable[bytes], follow: Mapping[bytes, Sequence[bytes]] | None = None) -> None:
        self.prefixes = frozenset(prefixes)
        follow = follow or {}
        tries: dict[tuple[str, int], dict[bytes, bytes]] = {}
        anchored: dict[int, list[tuple[int, bytes]]] = {}
        for p, (kind, byte) in sorted(_plan(self.prefixes).items()):
            if kind == "find":
                anchored.setdefault(byte, []).append((p.index(byte), p))
            else:
                word = p[::-1] if kind == "last" else p
                tries.setdefault((kind, byte), {})[word] = _body_check(p, follow.get(p, ())[:FOLLOW], kind == "last")
        # Per anchor byte, its prefixes keyed by the byte before the anchor (the anchor is not
        # first) or after it (it is): one dict look-up per occurrence instead of a comparison each.
        self.anchored: list[tuple[bytes, dict[int, list[tuple[int, bytes]]], dict[int, list[tuple[int, bytes]]]]] = []
        for a, entries in sorted(anchored.items()):
            before: dict[int, list[tuple[int, bytes]]] = {}
            after: dict[int, list[tuple[int, bytes]]] = {}
            for offset, p in entries:
                if offset:
                    before.setdefault(p[offset - 1], []).append((offset, p))
                else:  # a one-byte prefix is the anchor itself: key -1, looked up at every occurrence
                    after.setdefault(p[1] if len(p) > 1 else -1, []).append((offset, p))
            self.anchored.append((bytes([a]), before, after))
        self.forwards = [(re.compile(trie_pattern(w)), frozenset(w))
                         for (k, _), w in sorted(tries.items()) if k == "first"]
        self.backwards = [(re.compile(trie_pattern(w)), frozenset(x[::-1] for x in w))
                          for (k, _), w in sorted(tries.items()) if k == "last"]

    def find(self, data: bytes) -> list[tuple[int, bytes]]:
        out: list[tuple[int, bytes]] = []
        find, n, none = data.find, len(data), ()
        for anchor, before, after in self.anchored:
            lone = after.get(-1, none)
            at = find(anchor)
            while at >= 0:
                for offset, p in (before.get(data[at - 1], none) if at else none):
                    if offset <= at and data.startswith(p, at - offset):
                        out.append((at - offset, p))
                for _, p in after.get(data[at + 1] if at + 1 < n else 256, none):
                    if data.startswith(p, at):
                        out.append((at, p))
                for _, p in lone:
                    out.append((at, p))
                at = find(anchor, at + 1)
        for pattern, members in self.forwards:
            search, pos = pattern.search, 0
            while (m := search(data, pos)) is not None:
                pos, longest = m.start(), m.group()
                # Every prefix of this trie that starts here is a prefix of the longest one.
                out.extend((pos, longest[:k]) for k in range(1, len(longest) + 1) if longest[:k] in members)
                pos += 1
        if self.backwards:
            rdata, n = data[::-1], len(data)
            for pattern, members in self.backwards:
                search, pos = pattern.search, 0
                while (m := search(rdata, pos)) is not None:
                    pos = m.start()
                    longest, end = m.group()[::-1], n - pos
                    # Every prefix of this trie that ends here is a suffix of the longest one.
                    out.extend((end - k, longest[-k:]) for k in range(1, len(longest) + 1) if longest[-k:] in members)
                    pos += 1
        return out
