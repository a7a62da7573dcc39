"""The pure-Python engine's prefix search (crawler/detect/prefixes.py): every occurrence, nothing else.

The search is planned per rule set (``find`` on a rare byte, tries keyed by a last or a first byte);
whatever the plan, the result must be exactly what a naive scan of every position finds.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.config.model import RuleConfig
from crawler.detect.mint import mint
from crawler.detect.prefixes import FREQUENCY, RARE, PrefixFinder, _plan
from crawler.detect.rules import load_rules
from crawler.detect.scanner import HAVE_HYPERSCAN, Scanner

# Common bytes (tries) and rare ones (find anchors), a delimiter and a NUL (the batch separator).
ALPHABET = b"ab_-.eK~J\x00"
PREFIX = st.binary(min_size=1, max_size=6).map(lambda b: bytes(ALPHABET[c % len(ALPHABET)] for c in b))
TEXT = st.lists(st.one_of(PREFIX, st.sampled_from([bytes([c]) for c in ALPHABET])), max_size=60).map(b"".join)


def naive(prefixes: set[bytes], data: bytes) -> list[tuple[int, bytes]]:
    return sorted((i, p) for p in prefixes for i in range(len(data)) if data.startswith(p, i))


@settings(max_examples=300, deadline=None)
@given(st.sets(PREFIX, min_size=1, max_size=10), TEXT)
def test_every_occurrence_of_every_prefix_and_nothing_else(prefixes: set[bytes], data: bytes) -> None:
    assert sorted(PrefixFinder(prefixes).find(data)) == naive(prefixes, data)


def test_all_three_kinds_of_scan_on_overlapping_prefixes() -> None:
    # "sk-" and "ask-" share a last byte (one trie, nested suffixes); "AKQA" and "AKQAB" share a rare
    # byte; "Ab" and "Abc" share a first byte with nothing rare or common at their end.
    prefixes = {b"sk-", b"ask-", b"k-", b"AKQA", b"AKQAB", b"Q", b"Ab", b"Abc", b"Ax", b"xAb"}
    plan = _plan(prefixes)
    assert {kind for kind, _ in plan.values()} == {"find", "last", "first"}
    rng = random.Random(7)
    data = b"".join(rng.choice([*prefixes, b" ", b"a", b"-", b"\n"]) for _ in range(4000))
    assert sorted(PrefixFinder(prefixes).find(data)) == naive(prefixes, data)


def test_body_check_drops_only_occurrences_whose_body_cannot_fit() -> None:
    digits = bytes(1 if chr(b).isdigit() else 0 for b in range(256))
    anything = bytes([1] * 256)
    prefixes = {b"pat", b"tok_", b"K9"}
    follow = {b"pat": [digits, digits], b"tok_": [anything], b"K9": [digits] * 3}
    data = b"path pat12 pat1 tok_ tok_x K9x K912 K9"
    got = sorted(PrefixFinder(prefixes, follow).find(data))
    everything = naive(prefixes, data)
    assert set(got) <= set(everything)
    # Kept: every occurrence whose next bytes fit; K9 (rare K: a find anchor) is proposed unchecked.
    assert (5, b"pat") in got and (21, b"tok_") in got and (0, b"pat") not in got and (11, b"pat") not in got
    assert [(i, p) for i, p in everything if p == b"K9"] == [(i, p) for i, p in got if p == b"K9"]


def test_plan_for_the_built_in_pack_makes_fewer_passes_than_one_per_last_byte() -> None:
    prefixes = {r.prefix_bytes for r in load_rules(None)}
    plan = _plan(prefixes)
    assert set(plan) == prefixes  # every prefix has exactly one way to be found
    passes = {key for key in plan.values() if key[0] != "find"}
    assert len(passes) < len({p[-1] for p in prefixes})
    for p, (kind, byte) in plan.items():
        assert byte in p and (kind != "find" or FREQUENCY.get(byte, 0) <= RARE)
        assert kind != "last" or p[-1] == byte
        assert kind != "first" or p[0] == byte


@pytest.mark.skipif(not HAVE_HYPERSCAN, reason="hyperscan is not installed")
def test_engines_agree_with_the_built_in_pack_and_organisation_rules() -> None:
    """Tokens of every built-in rule and of 20 organisation rules, whole, cut short, glued to a word
    character or to each other, in code-like text: both engines report the same matches."""
    extra = [RuleConfig(id=f"org{i}-live", prefix=f"org{i}_live_", charset="base62", length=36,
                        checksum="crc32-base62") for i in range(20)]
    rules = load_rules(None, extra=extra)
    rng = random.Random(13)
    pieces = [b"def f(path):\n", b"    return x\n", b" = ", b'"', b"_", b"-", b"\n", b"pat", b"AC", b"SK"]
    for rule in rules:
        t = mint(rule, rng).encode()
        pieces += [b" " + t + b" ", t[: rng.randrange(1, len(t))], b"x" + t, t]
    docs = [b"".join(rng.choice(pieces) for _ in range(rng.randint(1, 400))) for _ in range(60)]
    py, hs = Scanner(rules, use_hyperscan=False), Scanner(rules, use_hyperscan=True)
    found_py = py.scan_batch(docs)
    assert [[(m.rule.id, m.start, m.end, m.line, m.column) for m in ms] for ms in hs.scan_batch(docs)] == \
        [[(m.rule.id, m.start, m.end, m.line, m.column) for m in ms] for ms in found_py]
    assert len({m.rule.id for ms in found_py for m in ms}) > len(rules) // 2
