"""One pass over bytes for all rules at once; linear time; checksums checked offline.

Two engines give identical results (a test runs both on the same inputs):

* **Hyperscan** (when it imports): one database holding, per rule, ``prefix`` + the minimum body
  (fixed width, so the start of each match is ``end - width`` without start-of-match tracking).
  Small documents are batched into one buffer, since each Hyperscan call has a fixed cost.
* **Pure Python**: one ``re`` alternation of the literal prefixes (literal alternatives only, so
  no backtracking), searched from every hit + 1 so overlapping prefixes are all seen.

Either engine only proposes candidate starts; :meth:`Scanner._confirm` decides, the same way for
both: left boundary, body run, right boundary, optional bounded regex, checksum.
"""

from __future__ import annotations

import bisect
import logging
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from crawler.redaction import fingerprint, redact
from crawler.rules import WORD, Rule

logger = logging.getLogger(__name__)

_hs: Any
try:  # pragma: no cover - depends on the platform wheel
    import hyperscan as _hs

    HAVE_HYPERSCAN = True
except Exception:  # pragma: no cover
    _hs = None
    HAVE_HYPERSCAN = False

_WORD_TABLE = bytes(1 if b in WORD else 0 for b in range(256))
BATCH_BYTES = 1 << 20
SEPARATOR = b"\x00"


@dataclass(frozen=True, slots=True)
class Match:
    """One token found in one document. ``token`` is plaintext: never log or print a Match's token."""

    rule: Rule
    start: int
    end: int
    line: int
    column: int
    token: bytes = field(repr=False)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.token)

    @property
    def redacted(self) -> str:
        return redact(self.token, self.rule.prefix, self.fingerprint)

    @property
    def text(self) -> str:
        return self.token.decode("ascii", "replace")


@dataclass
class ScanStats:
    """Counters the daemon exports as metrics (bad checksums are counted, never logged)."""

    bad_checksum: Counter[str] = field(default_factory=Counter)
    bytes_scanned: int = 0


def _class(chars: bytes) -> bytes:
    return b"[" + b"".join(b"\\x%02x" % c for c in sorted(chars)) + b"]"


def _literal(text: bytes) -> bytes:
    return b"".join(b"\\x%02x" % c for c in text)


class Scanner:
    """Finds every rule's tokens in bytes. Safe on binary and mis-encoded input."""

    def __init__(self, rules: Sequence[Rule], *, use_hyperscan: bool | None = None,
                 max_document_bytes: int | None = None) -> None:
        self.rules = list(rules)
        self.max_document_bytes = max_document_bytes
        self.stats = ScanStats()
        self.engine = "hyperscan" if (HAVE_HYPERSCAN if use_hyperscan is None else use_hyperscan) else "python"
        if self.engine == "hyperscan" and not HAVE_HYPERSCAN:
            raise RuntimeError("hyperscan is not installed")
        self._width = [len(r.prefix_bytes) + (r.min_len if r.body_regex is None else 0) for r in self.rules]
        self._by_prefix: dict[bytes, list[int]] = {}
        for i, r in enumerate(self.rules):
            self._by_prefix.setdefault(r.prefix_bytes, []).append(i)
        self._db = self._compile_hyperscan() if self.engine == "hyperscan" else None
        # Literal prefixes only, longest first: a plain alternation that cannot backtrack.
        alts = sorted(self._by_prefix, key=len, reverse=True)
        self._prefix_re = re.compile(b"|".join(re.escape(p) for p in alts)) if alts else None
        self._by_first: dict[int, list[bytes]] = {}
        for p in alts:
            self._by_first.setdefault(p[0], []).append(p)

    def _compile_hyperscan(self) -> object | None:
        if not self.rules or _hs is None:
            return None
        exprs = []
        for r in self.rules:
            pat = _literal(r.prefix_bytes)
            if r.body_regex is None:
                pat += _class(bytes(b for b in range(256) if r.allowed[b])) + b"{%d}" % r.min_len
            exprs.append(pat)
        db = _hs.Database(mode=_hs.HS_MODE_BLOCK)
        db.compile(expressions=exprs, ids=list(range(len(exprs))), flags=[0] * len(exprs))
        self._scratch = _hs.Scratch(db)
        return cast(object, db)

    # -- candidates --------------------------------------------------------------------------

    def _candidates_hs(self, data: bytes) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        width = self._width

        def on_match(rid: int, _from: int, to: int, _flags: int, _ctx: object) -> None:
            found.append((to - width[rid], rid))

        self._db.scan(data, match_event_handler=on_match, scratch=self._scratch)  # type: ignore[attr-defined]
        return found

    def _candidates_py(self, data: bytes) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        if self._prefix_re is None:
            return found
        search, pos = self._prefix_re.search, 0
        while (m := search(data, pos)) is not None:
            at = m.start()
            for p in self._by_first[data[at]]:
                if data.startswith(p, at):
                    found.extend((at, rid) for rid in self._by_prefix[p])
            pos = at + 1
        return found

    # -- confirmation (shared by both engines) -----------------------------------------------

    def _confirm(self, data: bytes, start: int, rid: int, limit: int, floor: int) -> int:
        """Return the token's end offset, or -1. ``floor``/``limit`` bound the document."""
        rule = self.rules[rid]
        if start > floor and _WORD_TABLE[data[start - 1]]:
            return -1
        body_at = start + len(rule.prefix_bytes)
        allowed = rule.allowed
        if rule.body_regex is not None:
            m = rule.body_regex.match(data, body_at, min(limit, body_at + rule.max_len))
            if m is None:
                return -1
            end = m.end()
        else:
            end, stop = body_at, min(limit, body_at + rule.max_len)
            while end < stop and allowed[data[end]]:
                end += 1
            if end - body_at < rule.min_len:
                return -1
        if end < limit and allowed[data[end]]:
            return -1
        if rule.checksum != "none" and not rule.checksum_ok(data[body_at:end]):
            self.stats.bad_checksum[rule.id] += 1
            return -1
        return end

    # -- public API --------------------------------------------------------------------------

    def scan(self, data: bytes) -> list[Match]:
        """Every match in one document (capped at ``max_document_bytes`` if set)."""
        return self.scan_batch([data])[0]

    def scan_batch(self, docs: Sequence[bytes]) -> list[list[Match]]:
        """Scan several documents; Hyperscan sees them as one buffer of up to ~1 MiB."""
        out: list[list[Match]] = [[] for _ in docs]
        cap = self.max_document_bytes
        group: list[int] = []
        size = 0
        for i, doc in enumerate(docs):
            if cap is not None and len(doc) > cap:
                docs = list(docs)
                docs[i] = doc[:cap]
            group.append(i)
            size += len(docs[i]) + 1
            if size >= BATCH_BYTES:
                self._scan_group(docs, group, out)
                group, size = [], 0
        if group:
            self._scan_group(docs, group, out)
        return out

    def _scan_group(self, docs: Sequence[bytes], group: list[int], out: list[list[Match]]) -> None:
        buf = docs[group[0]] if len(group) == 1 else SEPARATOR.join(docs[i] for i in group)
        starts, pos = [], 0
        for i in group:
            starts.append(pos)
            pos += len(docs[i]) + 1
        self.stats.bytes_scanned += len(buf)
        cands = self._candidates_hs(buf) if self._db is not None else self._candidates_py(buf)
        if not cands:
            return
        seen: set[tuple[int, int]] = set()
        per_doc: dict[int, list[tuple[int, int, int]]] = {}
        for start, rid in sorted(set(cands)):
            k = bisect.bisect_right(starts, start) - 1
            floor, limit = starts[k], starts[k] + len(docs[group[k]])
            end = self._confirm(buf, start, rid, limit, floor)
            if end < 0 or (start, end) in seen:  # the same span for two rules: first rule wins
                continue
            seen.add((start, end))
            per_doc.setdefault(k, []).append((start, end, rid))
        for k, hits in per_doc.items():
            out[group[k]] = self._with_lines(buf, starts[k], hits)

    def _with_lines(self, buf: bytes, floor: int, hits: list[tuple[int, int, int]]) -> list[Match]:
        matches, line, pos = [], 1, floor
        for start, end, rid in sorted(hits, key=lambda h: (h[0], h[2])):
            line += buf.count(b"\n", pos, start)
            pos = start
            col = start - max(buf.rfind(b"\n", floor, start) + 1, floor) + 1
            matches.append(Match(self.rules[rid], start - floor, end - floor, line, col, buf[start:end]))
        return matches


def scan_lines_allowed(data: bytes, matches: Iterable[Match], marker: bytes = b"leakpatrol:allow") -> list[Match]:
    """Drop matches on a line carrying the inline ``leakpatrol:allow`` marker."""
    kept = []
    for m in matches:
        lo = data.rfind(b"\n", 0, m.start) + 1
        hi = data.find(b"\n", m.end)
        if marker not in data[lo: hi if hi >= 0 else len(data)]:
            kept.append(m)
    return kept
