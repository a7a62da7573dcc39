"""Minting well-formed tokens for a rule (``leakpatrol token mint``, the sandbox and the tests).

The body is random over the rule's charset (or generated from its body regex), the checksum kind
completes it, a paired rule gets a random companion after ``:``, and the result is confirmed by the
scanner, so a minted token is always found.
"""

from __future__ import annotations

import random
from typing import Any

try:  # Python 3.11 moved the regex parser; the old names warn.
    import re._constants as sre_constants  # type: ignore[import-not-found,unused-ignore]
    import re._parser as sre_parse  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # pragma: no cover
    import sre_constants  # type: ignore[no-redef,unused-ignore]
    import sre_parse  # type: ignore[no-redef,unused-ignore]

from crawler.detect.checksum import CHECKSUMS
from crawler.detect.rules import _DIGITS, CHARSETS, PAIR_JOIN, Rule
from crawler.detect.scanner import Scanner
from crawler.kernel.errors import RuleError


def _gen(items: Any, rng: random.Random) -> str:
    out = []
    for op, av in items:
        if op is sre_constants.LITERAL:
            out.append(chr(av))
        elif op is sre_constants.IN:
            out.append(rng.choice(_class_chars(av)))
        elif op is sre_constants.ANY:
            out.append(rng.choice(CHARSETS["base62"]))
        elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT):
            lo, hi, sub = av
            n = rng.randint(lo, min(hi, lo + 8)) if hi != sre_constants.MAXREPEAT else lo
            out.extend(_gen(sub, rng) for _ in range(n))
        elif op is sre_constants.SUBPATTERN:
            out.append(_gen(av[-1], rng))
        elif op is sre_constants.BRANCH:
            out.append(_gen(rng.choice(av[1]), rng))
        else:  # pragma: no cover - rejected at compile time
            raise ValueError(f"cannot mint from regex op {op}")
    return "".join(out)


def _class_chars(items: Any) -> str:
    chars: list[str] = []
    if items and items[0][0] is sre_constants.NEGATE:  # [^...]: the base62 characters not excluded
        excluded = set(_class_chars(items[1:]))
        return "".join(c for c in CHARSETS["base62"] if c not in excluded)
    for op, av in items:
        if op is sre_constants.LITERAL:
            chars.append(chr(av))
        elif op is sre_constants.RANGE:
            chars.extend(chr(c) for c in range(av[0], av[1] + 1))
        elif op is sre_constants.CATEGORY and av is sre_constants.CATEGORY_DIGIT:
            chars.extend(_DIGITS)
        elif op is sre_constants.CATEGORY and av is sre_constants.CATEGORY_WORD:
            chars.extend(CHARSETS["word"])
    return "".join(chars) or CHARSETS["base62"]


def mint(rule: Rule, rng: random.Random | None = None) -> str:
    """A well-formed token for ``rule``: random body of the right length, checksum appended."""
    rng = rng or random.SystemRandom()
    for _ in range(1000):
        if rule.body_regex is not None:
            body = _gen(sre_parse.parse(rule.body_regex.pattern.decode("ascii")), rng)
        else:
            alphabet = CHARSETS[rule.charset]
            body = "".join(rng.choice(alphabet) for _ in range(rule.min_len))
        kind = CHECKSUMS.get(rule.checksum)
        if kind is not None:
            body = kind.complete(rule.prefix, body)
        token = rule.prefix + body
        if rule.lead is not None:
            token = "".join(rng.choice(CHARSETS[rule.lead.charset]) for _ in range(rule.lead.max_len)) + token
        if rule.companion is not None:  # a pair is minted as "<match>:<companion>", what the scanner reports
            comp = rule.companion
            token += PAIR_JOIN.decode() + "".join(rng.choice(CHARSETS[comp.charset]) for _ in range(comp.min_len))
        found = Scanner([rule], use_hyperscan=False).scan(token.encode())
        if [(m.rule.id, m.token) for m in found] == [(rule.id, token.encode())]:
            return token
    raise RuleError(rule.id, "could not mint a token that this rule matches")
