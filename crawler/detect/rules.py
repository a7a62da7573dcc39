"""Token rules: organisation rules from the config plus the built-in pack in ``crawler/data/rules/*.toml``.

A match is ``prefix`` + body, where the body is ``length`` (or ``min_length``..``max_length``)
characters of ``charset`` — or matches a restricted, bounded ``regex``. Boundaries and the checksum
are in DESIGN.md; this module compiles rules and mints tokens, :mod:`crawler.detect.scanner` finds them.
A rule may also have a companion (a paired credential), a lead (characters before its prefix), a
priority, and the pack's allowlist entries that concern it.

A ``regex`` runs over untrusted text, so it must be linear-time twice over: ``check`` refuses the
constructs that backtrack (nested repetition, alternation inside a repetition, back-references,
look-arounds, anchors), naming the construct, and the body is confirmed with RE2 (``google-re2``),
an engine with a linear-time guarantee — never Python's backtracking ``re``.

Size: the rule format is one contract (config model → compiled rule → pack loading); its parts
(regex safety, companion, lead, allowlist) are small and only meaningful together.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

try:  # Python 3.11+: the parser moved; both names exist on 3.11 with a deprecation warning
    import re._constants as sre_constants  # type: ignore[import-not-found,unused-ignore]
    import re._parser as sre_parse  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # pragma: no cover
    import sre_constants  # type: ignore[no-redef,unused-ignore]
    import sre_parse  # type: ignore[no-redef,unused-ignore]

from crawler.detect.checksum import CHECKSUMS
from crawler.kernel.errors import ConfigError, RuleError

if TYPE_CHECKING:  # pydantic is imported when a rule is validated, not to match tokens (``scan`` starts fast)
    from importlib.resources.abc import Traversable
    from pathlib import Path

    from crawler.config.model import AllowConfig, CompanionConfig, Config, RuleConfig

#: The files shipped inside the package (rule pack, report templates, example config), read through
#: importlib.resources so that a wheel install finds them as an editable one does.
#: Both are made on first use (importlib.resources costs a cached ``scan`` a noticeable part of its start).
DATA_DIR: Traversable
RULES_DIR: Traversable


def __getattr__(name: str) -> Any:
    if name in ("DATA_DIR", "RULES_DIR"):
        from importlib import resources

        data = resources.files("crawler") / "data"
        globals().update(DATA_DIR=data, RULES_DIR=data / "rules")
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

_DIGITS = "0123456789"
_LOWER = "abcdefghijklmnopqrstuvwxyz"
_UPPER = _LOWER.upper()

CHARSETS: dict[str, str] = {
    # The four of DESIGN.md ...
    "base62": _DIGITS + _UPPER + _LOWER,
    "base64url": _DIGITS + _UPPER + _LOWER + "_-",
    "hex": _DIGITS + "abcdef",
    "alnum": _DIGITS + _LOWER,
    # ... and the ones provider formats need.
    "HEX": _DIGITS + "ABCDEF",
    "hex_any": _DIGITS + "abcdefABCDEF",
    "upper_alnum": _DIGITS + _UPPER,
    "alpha": _UPPER + _LOWER,
    "word": _DIGITS + _UPPER + _LOWER + "_",
    "base64": _DIGITS + _UPPER + _LOWER + "+/",
    "digits": _DIGITS,
    "entra": _DIGITS + _UPPER + _LOWER + "_~.-",
}
WORD = frozenset((_DIGITS + _UPPER + _LOWER + "_").encode())
MAX_REGEX_WIDTH = 8192
"""A body regex matches at most this many characters (a 4096-bit PEM key fits), so a candidate costs
a bounded amount of work whatever the input."""


PAIR_JOIN = b":"
"""A paired finding's token is ``<match>:<companion>`` (e.g. ``AKIA…:<secret access key>``): one
fingerprint for the pair, and what the pair's verifier receives."""


def split_pair(token: str) -> tuple[str, str] | None:
    """A paired token's two halves (the match and its companion); ``None`` for a token alone."""
    first, sep, second = token.partition(PAIR_JOIN.decode())
    return (first, second) if sep and second else None


class Companion(NamedTuple):
    """The compiled :class:`~crawler.config.model.CompanionConfig`: the other half of a pair."""

    allowed: bytes
    min_len: int
    max_len: int
    within: int
    excluded: bytes | None = None
    name: str = "secret"
    charset: str = "base64"


class Lead(NamedTuple):
    """Characters before the literal prefix that belong to the token (``min_len``..``max_len`` of them),
    for formats whose fixed part is not at the start (Mailchimp's ``<32 hex>-us<dc>``)."""

    allowed: bytes
    min_len: int
    max_len: int
    charset: str


class Allowlist(NamedTuple):
    """Published examples and placeholders a rule never reports: exact tokens, substrings, and runs
    of one character (``runs``: ``c`` repeated n times, looked for as a substring like ``contains``: a
    regex of one alternative per character, tried at every byte of a token, was the costliest step of
    confirming one). Empty (false) by default."""

    tokens: frozenset[bytes] = frozenset()
    contains: tuple[bytes, ...] = ()
    runs: tuple[bytes, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.tokens or self.contains or self.runs)

    def holds(self, token: bytes) -> bool:
        has = token.__contains__
        return token in self.tokens or any(map(has, self.contains)) or any(map(has, self.runs))

    def __repr__(self) -> str:
        return f"Allowlist({len(self.tokens)} tokens, {len(self.contains)} substrings, {len(self.runs)} runs)"


class BodyMatch(Protocol):
    def end(self) -> int: ...


class BodyPattern(Protocol):
    """A compiled body regex (RE2): ``match`` anchored at ``pos``, not past ``endpos``."""

    @property
    def pattern(self) -> bytes: ...

    def match(self, text: bytes, pos: int, endpos: int) -> BodyMatch | None: ...


class Rule(NamedTuple):
    """A compiled rule. ``allowed`` is the body charset as a 256-entry membership table."""

    id: str
    prefix: str
    min_len: int
    max_len: int
    checksum: str
    charset: str
    allowed: bytes
    body_regex: BodyPattern | None = None
    verifier: str | None = None
    severity: str = "high"
    name: str = ""
    reference: str | None = None
    builtin: bool = False
    examples: tuple[str, ...] = ()
    negative_examples: tuple[str, ...] = ()
    companion: Companion | None = None
    lead: Lead | None = None
    priority: int = 0
    head: bytes = b""
    """The fixed-width start of a body regex as a set of allowed bytes per position, so that the
    Hyperscan engine can look for prefix + head instead of the bare prefix (``pat`` is everywhere;
    ``pat`` + 14 alphanumerics + ``.`` is not)."""
    allow: Allowlist = Allowlist()

    def __repr__(self) -> str:  # without the 256-byte tables, the regexes and the allowlist
        return (f"Rule(id={self.id!r}, prefix={self.prefix!r}, min_len={self.min_len}, max_len={self.max_len}, "
                f"checksum={self.checksum!r}, charset={self.charset!r}, severity={self.severity!r})")

    @property
    def prefix_bytes(self) -> bytes:
        return self.prefix.encode("utf-8")

    @property
    def paired(self) -> bool:
        return self.companion is not None

    def checksum_ok(self, body: bytes) -> bool:
        kind = CHECKSUMS.get(self.checksum)
        return kind is None or kind.ok(self.prefix_bytes, body)


def _table(chars: str) -> bytes:
    table = bytearray(256)
    for b in chars.encode("ascii"):
        table[b] = 1
    return bytes(table)


def _regex_width(rule_id: str, pattern: str) -> tuple[int, int]:
    """Reject regex features that can backtrack badly; return the (min, max) match width."""
    try:
        parsed = sre_parse.parse(pattern)
    except re.error as exc:
        raise RuleError(rule_id, f"regex does not compile: {exc}") from None
    banned = {sre_constants.GROUPREF: "a back-reference", sre_constants.ASSERT: "a look-ahead or look-behind",
              sre_constants.ASSERT_NOT: "a negative look-ahead or look-behind", sre_constants.AT: "an anchor"}
    banned |= {getattr(sre_constants, n): what for n, what in (
        ("GROUPREF_EXISTS", "a conditional back-reference"), ("ATOMIC_GROUP", "an atomic group"),
        ("POSSESSIVE_REPEAT", "a possessive quantifier")) if hasattr(sre_constants, n)}
    linear = "; a rule's regex must match in linear time"

    def walk(items: Any, repeated: bool) -> None:
        for op, av in items:
            if op in banned:
                raise RuleError(rule_id, f"regex may not use {banned[op]} (anchors, look-arounds and "
                                         f"back-references are refused){linear}")
            if op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT):
                if repeated:
                    raise RuleError(rule_id, f"regex may not nest quantifiers (a quantifier inside a repeated "
                                             f"group){linear}")
                walk(av[2], True)
            elif op is sre_constants.SUBPATTERN:
                walk(av[-1], repeated)
            elif op is sre_constants.BRANCH:
                if repeated:
                    raise RuleError(rule_id, f"regex may not repeat an alternation such as (a|b){{n}} (use a "
                                             f"character class [ab] instead){linear}")
                for branch in av[1]:
                    walk(branch, repeated)

    walk(parsed, False)
    lo, hi = parsed.getwidth()
    if hi > MAX_REGEX_WIDTH:
        raise RuleError(rule_id, f"regex must have a bounded length (at most {MAX_REGEX_WIDTH} characters)")
    if lo < 1:
        raise RuleError(rule_id, "regex must match at least one character")
    return int(lo), int(hi)


def _re2() -> Any:
    """The RE2 module, imported when a regex is first compiled (a ``scan`` that meets no candidate of
    a regex rule starts without it)."""
    import re2  # type: ignore[import-untyped,unused-ignore]

    return re2


@functools.cache
def linear_pattern_type() -> type[Any]:
    """The type of a compiled RE2 pattern (a rule cache stores and rebuilds it as such)."""
    return type(_re2().compile(b"a"))


def linear_pattern(pattern: bytes) -> BodyPattern:
    """A body pattern, already checked and split, compiled on RE2 again (the rule cache)."""
    compiled: BodyPattern = _re2().compile(pattern)
    return compiled


RE2_MAX_REPEAT = 1000
"""RE2 refuses a repetition count above 1000; a longer run of one atom is written as several."""
_BIG_REPEAT = r"(\[(?:\\.|[^\]\\])*\]|\\.|[^\\()\[\]{}|?*+])\{(\d+)(,(\d*))?\}"
"""One atom (a class, an escape or a character) and its ``{m}`` or ``{m,n}`` (compiled on first use by
:func:`_big_repeat`: ``scan`` starts without it)."""


@functools.cache
def _big_repeat(kind: type[str] | type[bytes]) -> re.Pattern[Any]:
    return re.compile(_BIG_REPEAT if kind is str else _BIG_REPEAT.encode("ascii"))


def _split_repeats(pattern: str) -> str:
    """``A{100,4000}`` (one character, class or escape) as ``A{100}A{0,1000}A{0,1000}A{0,1000}A{0,900}``:
    the same strings, the longest that fits still preferred, and RE2 accepts it."""

    def split(m: re.Match[str]) -> str:
        atom, lo = m.group(1), int(m.group(2))
        hi = lo if m.group(3) is None else int(m.group(4))
        if hi <= RE2_MAX_REPEAT:
            return m.group(0)
        parts = [f"{atom}{{{RE2_MAX_REPEAT}}}"] * (lo // RE2_MAX_REPEAT)
        if lo % RE2_MAX_REPEAT:
            parts.append(f"{atom}{{{lo % RE2_MAX_REPEAT}}}")
        rest = hi - lo
        while rest > 0:
            step = min(rest, RE2_MAX_REPEAT)
            parts.append(f"{atom}{{0,{step}}}")
            rest -= step
        return "".join(parts)

    return _big_repeat(str).sub(split, pattern)


def _fixed_repeat(atom: bytes, n: int) -> bytes:
    """``atom{n}`` in pieces RE2 accepts (``{1000}`` at most each)."""
    out = atom + b"{%d}" % RE2_MAX_REPEAT
    return out * (n // RE2_MAX_REPEAT) + (atom + b"{%d}" % (n % RE2_MAX_REPEAT) if n % RE2_MAX_REPEAT else b"")


def windowed(rule: Rule) -> BodyPattern | None:
    """The rule's body regex for matching inside the window the scanner gives it (``pos`` to ``pos +
    max_len``), compiled with its long run left open: ``A{64,7900}TAIL`` as ``A{64}A*TAIL``. RE2 takes
    ~0.1 s to compile each of the PEM rules' split ``{64,7900}`` runs, and a scan pays it whenever it
    meets a private-key header; the open run compiles at once. ``None`` when that is not provably the
    same within the window, i.e. unless the pattern is a leading run of one single-character atom
    followed by a rest of fixed width ``W`` and ``max_len`` is the run's maximum plus ``W``: then any
    match of the open form that fits the window has at most the run's maximum of ``A`` (the rest
    takes exactly ``W``), so both forms have the same matches, in the same order of preference
    (greedy: the most ``A`` that still lets the rest match)."""
    if rule.body_regex is None:
        return None
    pattern = bytes(rule.body_regex.pattern)
    pieces: list[re.Match[bytes]] = []
    at = 0
    for m in _big_repeat(bytes).finditer(pattern):
        if m.start() != at or (pieces and m.group(1) != pieces[0].group(1)):
            break
        pieces.append(m)
        at = m.end()
    if not pieces:
        return None
    atom, rest = pieces[0].group(1), pattern[at:]
    lo = sum(int(m.group(2)) for m in pieces)
    hi = sum(int(m.group(4)) if m.group(3) else int(m.group(2)) for m in pieces)
    if hi <= RE2_MAX_REPEAT:  # compiles fast as it is
        return None
    try:
        atom_width = sre_parse.parse(atom.decode("ascii")).getwidth()
        rest_width = sre_parse.parse(rest.decode("ascii")).getwidth() if rest else (0, 0)
    except (re.error, UnicodeDecodeError):
        return None
    if atom_width != (1, 1) or rest_width[0] != rest_width[1] or rule.max_len != hi + rest_width[0]:
        return None
    compiled: BodyPattern = _re2().compile(_fixed_repeat(atom, lo) + atom + b"*" + rest)
    return compiled


def _linear_time(rule_id: str, pattern: str) -> BodyPattern:
    """The body regex on RE2 (linear time in the text, whatever the pattern)."""
    re2 = _re2()
    try:
        compiled: BodyPattern = re2.compile(_split_repeats(pattern).encode("ascii"))
    except re2.error as exc:
        raise RuleError(rule_id, f"regex is not supported by the linear-time engine (RE2): {exc}") from None
    except UnicodeEncodeError:
        raise RuleError(rule_id, "regex must be ASCII") from None
    return compiled


def compile_rule(cfg: RuleConfig, *, builtin: bool = False, allow: Iterable[AllowConfig] = ()) -> Rule:
    """Check a rule's consistency and compile it; raise :class:`RuleError` naming the problem."""
    if not cfg.prefix.isascii():
        raise RuleError(cfg.id, "prefix must be ASCII")
    if (cfg.charset is None) == (cfg.regex is None) and cfg.regex is None:
        raise RuleError(cfg.id, "give a body format: charset (with length or min_length/max_length) or regex")
    charset_name = cfg.charset or ("base64url" if cfg.regex else "")
    _charset(cfg.id, charset_name)
    body_regex = None
    if cfg.regex is not None:
        if cfg.length or cfg.min_length or cfg.max_length:
            raise RuleError(cfg.id, "regex rules take their length from the regex; drop length/min_length/max_length")
        lo, hi = _regex_width(cfg.id, cfg.regex)
        body_regex = _linear_time(cfg.id, cfg.regex)
    elif cfg.length is not None:
        if cfg.min_length or cfg.max_length:
            raise RuleError(cfg.id, "give either length or min_length/max_length, not both")
        lo = hi = cfg.length
    elif cfg.min_length and cfg.max_length:
        lo, hi = cfg.min_length, cfg.max_length
        if lo > hi:
            raise RuleError(cfg.id, "min_length is greater than max_length")
    else:
        raise RuleError(cfg.id, "give length, or both min_length and max_length")
    kind = CHECKSUMS.get(cfg.checksum)
    if kind is not None:
        if lo < kind.min_body:
            raise RuleError(cfg.id, f"{kind.name} needs a body of at least {kind.min_body} characters")
        if cfg.regex is None and not set(kind.charset) <= set(CHARSETS[charset_name]):
            raise RuleError(cfg.id, f"{kind.name} needs a charset that contains its checksum characters")
    return Rule(
        id=cfg.id, prefix=cfg.prefix, min_len=lo, max_len=hi, checksum=cfg.checksum, charset=charset_name,
        allowed=_table(CHARSETS[charset_name]), body_regex=body_regex, verifier=cfg.verifier,
        severity=cfg.severity, name=cfg.name or cfg.id, reference=cfg.reference, builtin=builtin,
        examples=tuple(cfg.examples), negative_examples=tuple(cfg.negative_examples),
        companion=_companion(cfg.id, cfg.companion) if cfg.companion else None, priority=cfg.priority,
        lead=_lead(cfg) if cfg.lead_charset else None, head=_fixed_head(body_regex) if body_regex else b"",
        allow=_allowlist(cfg.id, allow),
    )


def _byte_set(items: Any) -> frozenset[int] | None:
    """The bytes one ``[...]`` item or literal admits, or None for what this does not model."""
    out: set[int] = set()
    negate = False
    for op, av in items:
        if op is sre_constants.NEGATE:
            negate = True
        elif op is sre_constants.LITERAL:
            out.add(av)
        elif op is sre_constants.RANGE:
            out.update(range(av[0], av[1] + 1))
        elif op is sre_constants.CATEGORY and av is sre_constants.CATEGORY_DIGIT:
            out.update(range(0x30, 0x3A))
        elif op is sre_constants.CATEGORY and av is sre_constants.CATEGORY_SPACE:
            out.update(b" \t\n\r\x0b\x0c")
        else:
            return None
    return frozenset(set(range(256)) - out) if negate else frozenset(out)


def _fixed_head(pattern: BodyPattern) -> bytes:
    """The leading fixed-width part of a body regex: one 256-entry table per position (as bytes,
    concatenated). It stops at the first alternation, group or variable repeat (whose fixed minimum
    is still taken)."""
    tables: list[bytes] = []
    for op, av in sre_parse.parse(pattern.pattern.decode("ascii")):
        if op is sre_constants.LITERAL:
            allowed, count, stop = _byte_set([(op, av)]), 1, False
        elif op is sre_constants.IN:
            allowed, count, stop = _byte_set(av), 1, False
        elif op is sre_constants.MAX_REPEAT and len(av[2]) == 1 and av[2][0][0] in (sre_constants.LITERAL,
                                                                                    sre_constants.IN):
            item = av[2][0]
            allowed = _byte_set([item] if item[0] is sre_constants.LITERAL else item[1])
            count, stop = int(av[0]), av[0] != av[1]
        else:
            break
        if allowed is None:
            break
        tables += [_table_of(allowed)] * count
        if stop:
            break
    return b"".join(tables)


def _table_of(allowed: frozenset[int]) -> bytes:
    return bytes(1 if b in allowed else 0 for b in range(256))


def _charset(rule_id: str, name: str) -> str:
    if name not in CHARSETS:
        raise RuleError(rule_id, f"unknown charset {name!r}; use one of {', '.join(sorted(CHARSETS))}")
    return CHARSETS[name]


def _companion(rule_id: str, cc: CompanionConfig) -> Companion:
    chars = _charset(rule_id, cc.charset)
    if cc.length is not None:
        if cc.min_length or cc.max_length:
            raise RuleError(rule_id, "companion: give either length or min_length/max_length, not both")
        lo = hi = cc.length
    elif cc.min_length and cc.max_length and cc.min_length <= cc.max_length:
        lo, hi = cc.min_length, cc.max_length
    else:
        raise RuleError(rule_id, "companion: give length, or min_length <= max_length")
    excluded = _table(_charset(rule_id, cc.not_charset)) if cc.not_charset else None
    return Companion(allowed=_table(chars), min_len=lo, max_len=hi, within=cc.within, excluded=excluded,
                     name=cc.name, charset=cc.charset)


def _lead(cfg: RuleConfig) -> Lead:
    lo, hi = cfg.lead_min_length or 0, cfg.lead_max_length or 0
    if not 1 <= lo <= hi:
        raise RuleError(cfg.id, "lead_charset needs 1 <= lead_min_length <= lead_max_length")
    chars = _charset(cfg.id, cfg.lead_charset or "")
    return Lead(allowed=_table(chars), min_len=lo, max_len=hi, charset=cfg.lead_charset or "")


def _allowlist(rule_id: str, entries: Iterable[AllowConfig]) -> Allowlist:
    mine = [e for e in entries if (not e.rules or rule_id in e.rules) and rule_id not in e.not_rules]
    runs = tuple(bytes([c]) * e.repeated for e in mine if e.repeated for c in e.chars.encode())
    return Allowlist(tokens=frozenset(e.token.encode() for e in mine if e.token),
                     contains=tuple(e.contains.encode() for e in mine if e.contains),
                     runs=runs)


class Pack(NamedTuple):
    """The built-in pack: its rules and its allowlist (``[[allow]]`` tables), both validated."""

    rules: tuple[RuleConfig, ...]
    allow: tuple[AllowConfig, ...]


@functools.cache
def builtin_pack(rules_dir: Traversable | Path | None = None) -> Pack:
    """Every rule and allowlist entry of the built-in pack. A pack with no rule is an error, never a
    silent "No findings"; an allowlist entry naming an unknown rule is an error too."""
    import tomllib  # only when the pack is validated (a cached scan does not read it)

    from crawler.config.model import AllowConfig, RuleConfig

    if rules_dir is None:
        rules_dir = __getattr__("RULES_DIR")
    rules: list[RuleConfig] = []
    allow: list[tuple[str, int, AllowConfig]] = []
    files = sorted((f for f in rules_dir.iterdir() if f.name.endswith(".toml")), key=lambda f: f.name)
    for file in files:
        try:
            doc = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"not valid TOML: {exc}", file=str(file)) from None
        unknown_keys = sorted(set(doc) - {"rules", "allow"})
        if unknown_keys:
            raise ConfigError(f"unknown table {unknown_keys[0]!r} (a pack file holds [[rules]] and [[allow]])",
                              file=str(file))
        rules += [_validated(RuleConfig, raw, file, ["rules", i]) for i, raw in enumerate(doc.get("rules", []))]
        allow += [(str(file), i, _validated(AllowConfig, raw, file, ["allow", i]))
                  for i, raw in enumerate(doc.get("allow", []))]
    if not rules:
        raise ConfigError("the built-in rule pack holds no rule (is the package installed whole?)",
                          file=str(rules_dir))
    ids = {r.id for r in rules}
    for where, i, entry in allow:
        if sum(x is not None for x in (entry.token, entry.contains, entry.repeated)) != 1:
            raise ConfigError("give exactly one of token, contains or repeated", file=where, key=f"allow[{i}]")
        if entry.repeated is not None and not entry.chars:
            raise ConfigError("repeated needs chars (the characters whose runs are placeholders)", file=where,
                              key=f"allow[{i}].chars")
        stray = sorted(set(entry.rules + entry.not_rules) - ids)
        if stray:
            raise ConfigError(f"unknown rule {stray[0]!r}", file=where, key=f"allow[{i}].rules")
    return Pack(tuple(rules), tuple(e for _, _, e in allow))


def _validated(model: type[Any], raw: Any, file: Traversable | Path, loc: list[int | str]) -> Any:
    from pydantic import ValidationError

    from crawler.config.loading import validation_problem

    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        key, problem = validation_problem(exc, model, loc)
        raise ConfigError(problem, file=str(file), key=key) from None


def builtin_rule_configs(rules_dir: Traversable | Path | None = None) -> tuple[RuleConfig, ...]:
    """Every rule of the built-in pack, validated."""
    return builtin_pack(rules_dir).rules  # type: ignore[arg-type]  # Traversables are hashable


def builtin_rule_ids() -> list[str]:
    return [r.id for r in builtin_rule_configs()]


def load_rules(cfg: Config | None = None, *, extra: Iterable[RuleConfig] = ()) -> list[Rule]:
    """Organisation rules from the config first, then the selected built-in rules."""
    rules: list[Rule] = []
    org = list(cfg.rules) if cfg else []
    org += list(extra)
    for i, rc in enumerate(org):
        try:
            rules.append(compile_rule(rc))
        except RuleError as exc:
            raise ConfigError(exc.problem, file=(cfg.path if cfg else None), key=f"rules[{i}]") from None
    wanted = cfg.scanner.builtin_rules if cfg else True
    if wanted is False:
        return rules
    known = {r.id for r in rules}
    pack = builtin_rule_configs()
    allow = builtin_pack().allow
    if isinstance(wanted, list):
        missing = sorted(set(wanted) - {r.id for r in pack})
        if missing:
            raise ConfigError(f"unknown built-in rule {missing[0]!r}", file=cfg.path if cfg else None,
                              key="scanner.builtin_rules")
    for rc in pack:
        if rc.id in known or (isinstance(wanted, list) and rc.id not in wanted):
            continue
        rules.append(compile_rule(rc, builtin=True, allow=allow))
    return rules


def find_rule(rules: Sequence[Rule], rule_id: str) -> Rule | None:
    return next((r for r in rules if r.id == rule_id), None)
