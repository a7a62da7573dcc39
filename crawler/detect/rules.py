"""Token rules: organisation rules from the config plus the built-in pack in ``crawler/data/rules/*.toml``.

A match is ``prefix`` + body, where the body is ``length`` (or ``min_length``..``max_length``)
characters of ``charset`` — or matches a restricted, bounded ``regex``. Boundaries and the checksum
are in DESIGN.md; this module compiles rules and mints tokens, :mod:`crawler.detect.scanner` finds them.

A ``regex`` runs over untrusted text, so it must be linear-time twice over: ``check`` refuses the
constructs that backtrack (nested repetition, alternation inside a repetition, back-references,
look-arounds, anchors), naming the construct, and the body is confirmed with RE2 (``google-re2``),
an engine with a linear-time guarantee — never Python's backtracking ``re``.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Protocol

import re2  # type: ignore[import-untyped,unused-ignore]

try:  # Python 3.11+: the parser moved; both names exist on 3.11 with a deprecation warning
    import re._constants as sre_constants  # type: ignore[import-not-found,unused-ignore]
    import re._parser as sre_parse  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # pragma: no cover
    import sre_constants  # type: ignore[no-redef,unused-ignore]
    import sre_parse  # type: ignore[no-redef,unused-ignore]

from pydantic import ValidationError

from crawler.config.loading import validation_problem
from crawler.config.model import Config, RuleConfig
from crawler.detect.checksum import BASE62, CHECKSUM_LEN, crc32_base62_ok
from crawler.kernel.errors import ConfigError, RuleError

#: The files shipped inside the package (rule pack, report templates, example config), read through
#: importlib.resources so that a wheel install finds them as an editable one does.
DATA_DIR: Traversable = resources.files("crawler") / "data"
RULES_DIR: Traversable = DATA_DIR / "rules"

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
}
WORD = frozenset((_DIGITS + _UPPER + _LOWER + "_").encode())
MAX_REGEX_WIDTH = 1024


class BodyMatch(Protocol):
    def end(self) -> int: ...


class BodyPattern(Protocol):
    """A compiled body regex (RE2): ``match`` anchored at ``pos``, not past ``endpos``."""

    @property
    def pattern(self) -> bytes: ...

    def match(self, text: bytes, pos: int, endpos: int) -> BodyMatch | None: ...


@dataclass(frozen=True)
class Rule:
    """A compiled rule. ``allowed`` is the body charset as a 256-entry membership table."""

    id: str
    prefix: str
    min_len: int
    max_len: int
    checksum: str
    charset: str
    allowed: bytes = field(repr=False)
    body_regex: BodyPattern | None = field(default=None, repr=False)
    verifier: str | None = None
    severity: str = "high"
    name: str = ""
    reference: str | None = None
    builtin: bool = False
    examples: tuple[str, ...] = ()
    negative_examples: tuple[str, ...] = ()

    @property
    def prefix_bytes(self) -> bytes:
        return self.prefix.encode("utf-8")

    def checksum_ok(self, body: bytes) -> bool:
        if self.checksum == "crc32-base62":
            return crc32_base62_ok(body)
        return True


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


def _linear_time(rule_id: str, pattern: str) -> BodyPattern:
    """The body regex on RE2 (linear time in the text, whatever the pattern)."""
    try:
        compiled: BodyPattern = re2.compile(pattern.encode("ascii"))
    except re2.error as exc:
        raise RuleError(rule_id, f"regex is not supported by the linear-time engine (RE2): {exc}") from None
    except UnicodeEncodeError:
        raise RuleError(rule_id, "regex must be ASCII") from None
    return compiled


def compile_rule(cfg: RuleConfig, *, builtin: bool = False) -> Rule:
    """Check a rule's consistency and compile it; raise :class:`RuleError` naming the problem."""
    if not cfg.prefix.isascii():
        raise RuleError(cfg.id, "prefix must be ASCII")
    if (cfg.charset is None) == (cfg.regex is None) and cfg.regex is None:
        raise RuleError(cfg.id, "give a body format: charset (with length or min_length/max_length) or regex")
    charset_name = cfg.charset or ("base64url" if cfg.regex else "")
    if charset_name not in CHARSETS:
        close = ", ".join(sorted(CHARSETS))
        raise RuleError(cfg.id, f"unknown charset {charset_name!r}; use one of {close}")
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
    if cfg.checksum == "crc32-base62":
        if lo <= CHECKSUM_LEN:
            raise RuleError(cfg.id, "crc32-base62 needs a body longer than its 6 checksum characters")
        if not set(BASE62) <= set(CHARSETS[charset_name]):
            raise RuleError(cfg.id, "crc32-base62 needs a charset that contains base62")
    return Rule(
        id=cfg.id, prefix=cfg.prefix, min_len=lo, max_len=hi, checksum=cfg.checksum, charset=charset_name,
        allowed=_table(CHARSETS[charset_name]), body_regex=body_regex, verifier=cfg.verifier,
        severity=cfg.severity, name=cfg.name or cfg.id, reference=cfg.reference, builtin=builtin,
        examples=tuple(cfg.examples), negative_examples=tuple(cfg.negative_examples),
    )


@functools.cache
def builtin_rule_configs(rules_dir: Traversable | Path = RULES_DIR) -> tuple[RuleConfig, ...]:
    """Every rule of the built-in pack, validated. A pack with no rule is an error, never a silent
    "No findings"."""
    out: list[RuleConfig] = []
    files = sorted((f for f in rules_dir.iterdir() if f.name.endswith(".toml")), key=lambda f: f.name)
    for file in files:
        try:
            doc = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"not valid TOML: {exc}", file=str(file)) from None
        for i, raw in enumerate(doc.get("rules", [])):
            try:
                out.append(RuleConfig.model_validate(raw))
            except ValidationError as exc:
                key, problem = validation_problem(exc, RuleConfig, ["rules", i])
                raise ConfigError(problem, file=str(file), key=key) from None
    if not out:
        raise ConfigError("the built-in rule pack holds no rule (is the package installed whole?)",
                          file=str(rules_dir))
    return tuple(out)


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
    if isinstance(wanted, list):
        missing = sorted(set(wanted) - {r.id for r in pack})
        if missing:
            raise ConfigError(f"unknown built-in rule {missing[0]!r}", file=cfg.path if cfg else None,
                              key="scanner.builtin_rules")
    for rc in pack:
        if rc.id in known or (isinstance(wanted, list) and rc.id not in wanted):
            continue
        rules.append(compile_rule(rc, builtin=True))
    return rules


def find_rule(rules: Sequence[Rule], rule_id: str) -> Rule | None:
    return next((r for r in rules if r.id == rule_id), None)
