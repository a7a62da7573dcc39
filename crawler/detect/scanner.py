"""One pass over bytes for all rules at once; linear time; checksums checked offline.

Two engines give identical results (a test runs both on the same inputs):

* **Hyperscan** (when it imports): one database holding, per rule, ``prefix`` + the minimum body
  (fixed width, so the start of each match is ``end - width`` without start-of-match tracking).
  Documents are scanned in groups of ~1 MiB per call (vectored mode: no copy), since each call
  has a fixed cost. The compiled database is kept on disk (:func:`cache_dir`), one file per set of
  expressions and Hyperscan build, so a process starts without compiling (``scan`` starts fast).
* **Pure Python** (:mod:`crawler.detect.prefixes`): each literal prefix is found either by
  ``bytes.find`` on a byte of it that is rare in typical text, or by a trie regex shared with the
  prefixes of the same last byte (over the reversed buffer) or first byte (over the buffer), each
  starting with that byte as a literal so that ``re`` scans for it in C; a trie's leaves also check
  the first body bytes. Planned once per rule set to make few passes (15 and 4 ``find`` anchors for
  the built-in pack); no alternative can backtrack past one prefix and its fixed-width check.

Either engine only proposes candidate starts; :meth:`Scanner._confirm` decides, the same way for
both: left boundary, body run, right boundary, optional bounded regex, checksum, the pack's
allowlist, and for a paired rule the companion secret within a bounded window around the match.
Rules are tried highest ``priority`` first, paired rules before lone ones; the first rule that
confirms a span owns it.

Size: both engines' candidate steps and the one confirmation step stay in one module so that their
agreement is visible in one place (the hot loop is also cheaper without cross-module attribute
look-ups); only the pure-Python prefix search, a self-contained algorithm, is a module of its own.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import itertools
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple, cast

from crawler.detect.prefixes import FOLLOW, PrefixFinder
from crawler.detect.prefixes import byte_class as _class
from crawler.detect.prefixes import literal as _literal
from crawler.detect.redaction import fingerprint, redact
from crawler.detect.rules import PAIR_JOIN, WORD, BodyPattern, Companion, Rule, windowed
from crawler.kernel import lazylog

logger = lazylog.Logger(__name__)

_hs: Any
try:  # pragma: no cover - depends on the platform wheel
    import hyperscan as _hs

    HAVE_HYPERSCAN = True
except Exception:  # pragma: no cover
    _hs = None
    HAVE_HYPERSCAN = False

_WORD_TABLE = bytes(1 if b in WORD else 0 for b in range(256))
BATCH_BYTES = 1 << 20
ALONE_BYTES = 8 << 10  # Python engine: joining costs more than a search of its own above a few KiB
SEPARATOR = b"\x00"


class Match(NamedTuple):
    """One token found in one document. ``token`` is plaintext: never log or print a Match's token
    (its ``repr`` leaves it out)."""

    rule: Rule
    start: int
    end: int
    line: int
    column: int
    token: bytes
    companion: tuple[int, int] | None = None
    """Where the companion secret of a paired rule is (its plaintext is in ``token`` after ``:``)."""

    def __repr__(self) -> str:
        return (f"Match(rule={self.rule.id!r}, start={self.start}, end={self.end}, line={self.line}, "
                f"column={self.column}, companion={self.companion})")

    @property
    def spans(self) -> list[tuple[int, int]]:
        """Every byte range of the document holding part of the secret (for scrubbing)."""
        return [(self.start, self.end)] + ([self.companion] if self.companion else [])

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.token)

    @property
    def redacted(self) -> str:
        # A rule with a lead has its literal part inside the token: nothing is shown as a prefix then.
        prefix = self.rule.prefix if self.token.startswith(self.rule.prefix_bytes) else ""
        return redact(self.token, prefix, self.fingerprint)

    @property
    def text(self) -> str:
        return self.token.decode("ascii", "replace")


class ScanStats:
    """Counters the daemon exports as metrics (bad checksums are counted, never logged)."""

    __slots__ = ("allowlisted", "bad_checksum", "bytes_scanned")

    def __init__(self) -> None:
        self.bad_checksum: Counter[str] = Counter()
        self.allowlisted: Counter[str] = Counter()
        self.bytes_scanned = 0


@functools.cache
def _union(tables: tuple[bytes, ...]) -> bytes:
    """The 256-entry table allowing what any of ``tables`` allows."""
    return bytes(int(any(t[b] for t in tables)) for b in range(256))


@functools.cache
def _table_class(table: bytes) -> bytes:
    """The regex class of the bytes a 256-entry table allows. Cached: the rules share a few dozen
    tables, and building the Hyperscan expressions (the key of their cached database) is part of
    every ``scan``'s start-up."""
    return _class(bytes(itertools.compress(range(256), table)))


@functools.cache
def _run_re(allowed: bytes) -> re.Pattern[bytes]:
    """The body run of a charset rule: one character class, starred, so it cannot backtrack."""
    return re.compile(_table_class(allowed) + b"*")


def cache_dir() -> str:
    """Where compiled Hyperscan databases are kept: ``$LEAKPATROL_CACHE_DIR``, else the XDG cache."""
    explicit = os.environ.get("LEAKPATROL_CACHE_DIR")
    if explicit:
        return explicit
    return os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
                        "leakpatrol")


def _cache_file(exprs: list[bytes]) -> str:
    """One file per rule set: the key hashes the expressions (hence the rules) and the Hyperscan
    build, since a serialized database only loads into the version that wrote it."""
    h = hashlib.sha256(f"{_hs.__version__}|{_hs.HS_MODE_VECTORED}|".encode())
    for e in exprs:
        h.update(len(e).to_bytes(4, "big") + e)
    return os.path.join(cache_dir(), f"hyperscan-{h.hexdigest()[:32]}.db")


def _load_cached(exprs: list[bytes]) -> Any:
    try:
        with open(_cache_file(exprs), "rb") as fh:
            raw = fh.read()
        return _hs.loadb(raw, _hs.HS_MODE_VECTORED)
    except Exception:  # missing, unreadable or not a database of this build: compile instead
        return None


def _store_cached(exprs: list[bytes], db: Any) -> None:
    path = _cache_file(exprs)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as fh:
            fh.write(_hs.dumpb(db))
        os.replace(tmp, path)  # atomic: a parallel scan never reads half a file
    except OSError as exc:
        logger.debug("cannot cache the compiled rules in %s: %s", os.path.dirname(path), exc)


class Scanner:
    """Finds every rule's tokens in bytes. Safe on binary and mis-encoded input."""

    def __init__(self, rules: Sequence[Rule], *, use_hyperscan: bool | None = None,
                 max_document_bytes: int | None = None) -> None:
        # Highest priority first, then paired rules before lone ones; otherwise the given order.
        self.rules = sorted(rules, key=lambda r: (-r.priority, r.companion is None))
        self.max_document_bytes = max_document_bytes
        self.stats = ScanStats()
        self.engine = "hyperscan" if (HAVE_HYPERSCAN if use_hyperscan is None else use_hyperscan) else "python"
        if self.engine == "hyperscan" and not HAVE_HYPERSCAN:
            raise RuntimeError("hyperscan is not installed")
        self._prefixes = [r.prefix_bytes for r in self.rules]
        self._plen = [len(p) for p in self._prefixes]
        self._lead = [r.lead.min_len if r.lead else 0 for r in self.rules]
        self._width = [lead + len(r.prefix_bytes) + (r.min_len if r.body_regex is None else len(r.head) // 256)
                       for lead, r in zip(self._lead, self.rules, strict=True)]
        self._runs: list[re.Pattern[bytes] | None] = [None] * len(self.rules)  # compiled on a rule's first candidate
        self._bodies: list[BodyPattern | None] = [None] * len(self.rules)
        self._by_prefix: dict[bytes, list[int]] = {}
        for i, r in enumerate(self.rules):
            self._by_prefix.setdefault(r.prefix_bytes, []).append(i)
        self._db = self._compile_hyperscan() if self.engine == "hyperscan" else None
        self._finder = None
        if self._db is None and self._by_prefix:
            self._finder = PrefixFinder(self._by_prefix, {p: self._follow(ids) for p, ids in self._by_prefix.items()})

    def _follow(self, ids: list[int]) -> list[bytes]:
        """What every rule with one prefix allows in the first bytes of its body (the union of their
        tables, as long as the shortest of their fixed-width starts): the Python engine's cheap check."""
        rules = [self.rules[i] for i in ids]
        width = min([FOLLOW] + [r.min_len if r.body_regex is None else len(r.head) // 256 for r in rules])
        return [_union(tuple(r.allowed if r.body_regex is None else r.head[j * 256:(j + 1) * 256] for r in rules))
                for j in range(width)]

    def _compile_hyperscan(self) -> object | None:
        if not self.rules or _hs is None:
            return None
        exprs = []
        for r in self.rules:
            pat = _literal(r.prefix_bytes)
            if r.lead is not None:
                pat = _table_class(r.lead.allowed) + b"{%d}" % r.lead.min_len + pat
            if r.body_regex is None:
                pat += _table_class(r.allowed) + b"{%d}" % r.min_len
            else:  # the regex's fixed-width start: runs of one class, as class{n}
                pat += _head_pattern(r.head)
            exprs.append(pat)
        # Vectored: a list of documents is scanned as one stream without copying them. A match
        # across two documents is possible there, and is dropped when it is confirmed.
        db = _load_cached(exprs)
        if db is None:
            db = _hs.Database(mode=_hs.HS_MODE_VECTORED)
            db.compile(expressions=exprs, ids=list(range(len(exprs))), flags=[0] * len(exprs))
            _store_cached(exprs, db)
        self._scratch = _hs.Scratch(db)
        return cast(object, db)

    # -- candidates: (offset in the group's stream, rule index) ----------------------------------

    def _candidates_hs(self, blocks: list[bytes]) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        width, lead = self._width, self._lead

        def on_match(rid: int, _from: int, to: int, _flags: int, _ctx: object) -> None:
            found.append((to - width[rid] + lead[rid], rid))  # where the prefix starts

        self._db.scan(blocks, match_event_handler=on_match, scratch=self._scratch)  # type: ignore[attr-defined]
        return found

    def _candidates_py(self, blocks: list[bytes]) -> list[tuple[int, int]]:
        if self._finder is None:
            return []
        # One buffer; the separator cannot be part of a prefix, so no candidate spans two documents.
        buf = blocks[0] if len(blocks) == 1 else SEPARATOR.join(blocks)
        by_prefix = self._by_prefix
        return [(at, rid) for at, p in self._finder.find(buf) for rid in by_prefix[p]]

    # -- confirmation (shared by both engines) -----------------------------------------------

    def _confirm(self, doc: bytes, at: int, rid: int) -> tuple[int, int, tuple[int, int] | None]:
        """``(start, end, companion span)`` of the token of rule ``rid`` whose prefix is at ``at`` in
        ``doc``; end -1: none. ``start`` is before ``at`` only for a rule with a ``lead``."""
        start = self._start(doc, at, rid)
        end = -1 if start < 0 else self._confirm_body(doc, at, rid)
        if end < 0:
            return -1, -1, None
        rule = self.rules[rid]
        pair = None
        if rule.companion is not None:
            pair = _find_companion(doc, start, end, rule.companion)
            if pair is None:
                return -1, -1, None
        if rule.allow:
            token = doc[start:end]
            if rule.allow.holds(token) or (pair is not None and rule.allow.holds(doc[pair[0]:pair[1]])):
                self.stats.allowlisted[rule.id] += 1
                return -1, -1, None
        return start, end, pair

    def _start(self, doc: bytes, at: int, rid: int) -> int:
        """Where the token starts: the prefix, or for a rule with a ``lead`` the start of the run of
        lead characters before it (``min_len``..``max_len`` of them, and a run no longer than that)."""
        lead = self.rules[rid].lead
        if lead is None:
            return at if _left_ok(doc, at) else -1
        start, floor = at, max(0, at - lead.max_len)
        while start > floor and lead.allowed[doc[start - 1]] and not _escape_before(doc, start):
            start -= 1
        if at - start < lead.min_len or not _left_ok(doc, start) or (
                start and lead.allowed[doc[start - 1]] and not _escape_before(doc, start)):
            return -1
        return start

    def _confirm_body(self, doc: bytes, start: int, rid: int) -> int:
        rule = self.rules[rid]
        if not doc.startswith(self._prefixes[rid], start):
            return -1
        body_at = start + self._plen[rid]
        stop = min(len(doc), body_at + rule.max_len)
        if rule.body_regex is not None:
            body = self._bodies[rid]
            if body is None:  # first use: the regex as matched inside this window (see rules.windowed)
                body = self._bodies[rid] = windowed(rule) or rule.body_regex
            m = body.match(doc, body_at, stop)
            if m is None:
                return -1
            end = m.end()
        else:
            run = self._runs[rid]
            if run is None:
                run = self._runs[rid] = _run_re(rule.allowed)
            end = run.match(doc, body_at, stop).end()  # type: ignore[union-attr]
            if end - body_at < rule.min_len:
                return -1
        if end < len(doc) and rule.allowed[doc[end]]:
            return -1
        if rule.checksum != "none" and not rule.checksum_ok(doc[body_at:end]):
            self.stats.bad_checksum[rule.id] += 1
            return -1
        return end

    # -- public API --------------------------------------------------------------------------

    def scan(self, data: bytes) -> list[Match]:
        """Every match in one document (capped at ``max_document_bytes`` if set)."""
        return self.scan_batch([data])[0]

    def scan_batch(self, docs: Sequence[bytes]) -> list[list[Match]]:
        """Scan several documents, in groups of up to ~1 MiB per engine call (each call has a
        fixed cost). Hyperscan reads the documents where they lie; the Python engine joins a group
        into one buffer, except a document of ``ALONE_BYTES`` or more, which is searched alone."""
        out: list[list[Match]] = [[] for _ in docs]
        cap = self.max_document_bytes
        if cap is not None and any(len(d) > cap for d in docs):
            docs = [d[:cap] for d in docs]
        alone = ALONE_BYTES if self._db is None else BATCH_BYTES
        group: list[int] = []
        size = 0
        for i, doc in enumerate(docs):
            if len(doc) >= alone:
                self._scan_group(docs, [i], out)
                continue
            group.append(i)
            size += len(doc) + 1
            if size >= BATCH_BYTES:
                self._scan_group(docs, group, out)
                group, size = [], 0
        if group:
            self._scan_group(docs, group, out)
        return out

    def _scan_group(self, docs: Sequence[bytes], group: list[int], out: list[list[Match]]) -> None:
        blocks = [docs[i] for i in group]
        gap = 0 if self._db is not None else len(SEPARATOR)
        starts, pos = [], 0
        for b in blocks:
            starts.append(pos)
            pos += len(b) + gap
        self.stats.bytes_scanned += pos - gap * len(blocks)
        cands = self._candidates_hs(blocks) if self._db is not None else self._candidates_py(blocks)
        if not cands:
            return
        seen: set[tuple[int, int, int]] = set()
        per_doc: dict[int, list[tuple[int, int, int, tuple[int, int] | None]]] = {}
        for at, rid in sorted(set(cands)):
            k = bisect.bisect_right(starts, at) - 1
            local, end, pair = self._confirm(blocks[k], at - starts[k], rid)
            if end < 0 or (k, local, end) in seen:  # the same span for two rules: first rule wins
                continue
            seen.add((k, local, end))
            per_doc.setdefault(k, []).append((local, end, rid, pair))
        for k, hits in per_doc.items():
            out[group[k]] = self._with_lines(blocks[k], sorted(hits, key=lambda h: h[0]))

    def _with_lines(self, doc: bytes, hits: list[tuple[int, int, int, tuple[int, int] | None]]) -> list[Match]:
        """``hits`` sorted by start; line and column are 1-based, the column counted in bytes."""
        matches, line, pos = [], 1, 0
        for start, end, rid, pair in hits:
            line += doc.count(b"\n", pos, start)
            pos = start
            col = start - doc.rfind(b"\n", 0, start)
            token = doc[start:end] if pair is None else doc[start:end] + PAIR_JOIN + doc[pair[0]:pair[1]]
            matches.append(Match(self.rules[rid], start, end, line, col, token, pair))
        return matches


@functools.cache
def _head_pattern(head: bytes) -> bytes:
    tables = [head[i:i + 256] for i in range(0, len(head), 256)]
    out, i = b"", 0
    while i < len(tables):
        j = i
        while j < len(tables) and tables[j] == tables[i]:
            j += 1
        out += _table_class(tables[i]) + (b"{%d}" % (j - i) if j - i > 1 else b"")
        i = j
    return out


def _escape_before(doc: bytes, at: int) -> bool:
    """``\\n``, ``\\r`` or ``\\t`` right before ``at``: a line break escaped inside a JSON or code string."""
    return at >= 2 and doc[at - 2] == 0x5C and doc[at - 1] in b"nrt"


def _left_ok(doc: bytes, at: int) -> bool:
    """The left boundary: the text starts here, or the byte before is not a word character (or it is
    the letter of an escaped line break, ``"…\\nghp_…"``)."""
    return not at or not _WORD_TABLE[doc[at - 1]] or _escape_before(doc, at)


@functools.cache
def _runs_re(allowed: bytes) -> re.Pattern[bytes]:
    """Maximal runs of a companion's charset: one character class, so it cannot backtrack."""
    return re.compile(_table_class(allowed) + b"+")


def _find_companion(doc: bytes, start: int, end: int, comp: Companion) -> tuple[int, int] | None:
    """The companion run nearest after ``end`` within ``comp.within`` bytes, else the nearest before
    ``start``. Runs are maximal in the whole document (a run cut by the window edge is measured to
    its real end), so a longer string that merely contains the right length is never taken."""
    runs = _runs_re(comp.allowed)
    allowed, excluded = comp.allowed, comp.excluded

    def fits(a: int, b: int) -> bool:
        if not comp.min_len <= b - a <= comp.max_len:
            return False
        return excluded is None or any(not excluded[c] for c in doc[a:b])

    def grow(a: int, b: int) -> tuple[int, int]:
        limit = comp.max_len + 1  # bounded: past max_len the run is too long anyway
        while a > 0 and allowed[doc[a - 1]] and b - a <= limit and not _escape_before(doc, a):
            a -= 1
        while b < len(doc) and allowed[doc[b]] and b - a <= limit:
            b += 1
        return a, b

    for m in runs.finditer(doc, end, min(len(doc), end + comp.within)):
        a, b = m.span()
        if a + 1 < b and doc[a] in b"nrt" and _escape_before(doc, a + 1):  # "…\nSECRET": the n is not its
            a += 1
        a, b = grow(a, b)
        if a >= end and fits(a, b):
            return a, b
    best = None
    for m in runs.finditer(doc, max(0, start - comp.within), start):
        a, b = m.span()
        if a + 1 < b and doc[a] in b"nrt" and _escape_before(doc, a + 1):
            a += 1
        a, b = grow(a, b)
        if b <= start and fits(a, b):
            best = (a, b)
    return best


def scan_lines_allowed(data: bytes, matches: Iterable[Match], marker: bytes = b"leakpatrol:allow") -> list[Match]:
    """Drop matches on a line carrying the inline ``leakpatrol:allow`` marker."""
    kept = []
    for m in matches:
        lo = data.rfind(b"\n", 0, m.start) + 1
        hi = data.find(b"\n", m.end)
        if marker not in data[lo: hi if hi >= 0 else len(data)]:
            kept.append(m)
    return kept
