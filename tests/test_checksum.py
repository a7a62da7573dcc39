"""The ``crc32-base62`` checksum (DESIGN.md "Token rules and the crc32-base62 checksum")."""

from __future__ import annotations

import random
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.config.model import RuleConfig
from crawler.detect.checksum import BASE62, CHECKSUM_LEN, base62, crc32_base62, crc32_base62_ok
from crawler.detect.mint import mint
from crawler.detect.rules import CHARSETS, compile_rule
from crawler.detect.scanner import Scanner

ACME = compile_rule(RuleConfig(id="acme-live", prefix="acme_live_", charset="base62", length=36,
                               checksum="crc32-base62"))
WIDE = compile_rule(RuleConfig(id="acme-wide", prefix="acmew_", charset="base64url", min_length=20,
                               max_length=60, checksum="crc32-base62"))
CHECKSUM_RULES = [ACME, WIDE]


def _by_hand(text: bytes) -> str:
    """crc32 → base62 written out independently of crawler.detect.checksum."""
    n = zlib.crc32(text) & 0xFFFFFFFF
    digits = []
    for _ in range(CHECKSUM_LEN):
        n, r = divmod(n, 62)
        digits.append("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"[r])
    assert n == 0  # 62**6 > 2**32, so six digits always suffice
    return "".join(reversed(digits))


def test_alphabet_is_0_9_A_Z_a_z() -> None:
    assert BASE62 == "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    assert CHARSETS["base62"] == BASE62


def test_known_vector() -> None:
    # zlib.crc32(b"hello world") == 0x0D4A1185 == 222957957
    #   = 15*62**4 + 5*62**3 + 31*62**2 + 34*62 + 5   ->  digits F 5 V Y 5, padded to six: "0F5VY5"
    assert zlib.crc32(b"hello world") == 0x0D4A1185 == 222957957
    assert 15 * 62**4 + 5 * 62**3 + 31 * 62**2 + 34 * 62 + 5 == 222957957
    assert crc32_base62(b"hello world") == "0F5VY5"
    assert crc32_base62(b"hello world") == _by_hand(b"hello world")


def test_empty_input_checksum_is_all_zeros() -> None:
    assert zlib.crc32(b"") == 0
    assert crc32_base62(b"") == "000000"


@pytest.mark.parametrize(("n", "expected"), [(0, "000000"), (1, "000001"), (61, "00000z"), (62, "000010"),
                                             (62**6 - 1, "zzzzzz"), (0xFFFFFFFF, "4gfFC3")])
def test_base62_left_pads_to_six(n: int, expected: str) -> None:
    assert base62(n) == expected
    assert len(base62(n)) == CHECKSUM_LEN


def test_base62_value_round_trips() -> None:
    for n in (0, 5, 3843, 916132831, 0xFFFFFFFF):
        assert sum(BASE62.index(c) * 62**i for i, c in enumerate(reversed(base62(n)))) == n


@given(st.binary(max_size=200))
def test_matches_independent_implementation(data: bytes) -> None:
    assert crc32_base62(data) == _by_hand(data)
    # A body is the data plus its checksum; an empty data part is not a token.
    assert crc32_base62_ok(data + crc32_base62(data).encode()) == bool(data)


def test_body_of_checksum_length_or_less_never_passes() -> None:
    assert not crc32_base62_ok(b"000000")
    assert not crc32_base62_ok(b"")


@settings(max_examples=200)
@given(seed=st.integers(0, 2**32), rule_idx=st.integers(0, len(CHECKSUM_RULES) - 1))
def test_minted_tokens_pass(seed: int, rule_idx: int) -> None:
    rule = CHECKSUM_RULES[rule_idx]
    token = mint(rule, random.Random(seed))
    assert token.startswith(rule.prefix)
    body = token[len(rule.prefix):].encode()
    assert rule.min_len <= len(body) <= rule.max_len
    assert crc32_base62_ok(body)
    assert crc32_base62(body[:-CHECKSUM_LEN]) == body[-CHECKSUM_LEN:].decode()
    assert _by_hand(body[:-CHECKSUM_LEN]) == body[-CHECKSUM_LEN:].decode()


@settings(max_examples=300)
@given(seed=st.integers(0, 2**32), rule_idx=st.integers(0, len(CHECKSUM_RULES) - 1), data=st.data())
def test_any_single_substitution_fails(seed: int, rule_idx: int, data: st.DataObject) -> None:
    rule = CHECKSUM_RULES[rule_idx]
    token = mint(rule, random.Random(seed))
    body = token[len(rule.prefix):]
    pos = data.draw(st.integers(0, len(body) - 1), label="pos")
    alphabet = CHARSETS[rule.charset]
    new = data.draw(st.sampled_from([c for c in alphabet if c != body[pos]]), label="new")
    mutated = body[:pos] + new + body[pos + 1:]
    # CRC32 detects every single-symbol error in the data; the checksum digits map 1:1 to the CRC.
    assert not crc32_base62_ok(mutated.encode())
    assert not rule.checksum_ok(mutated.encode())
    found = Scanner([rule], use_hyperscan=False).scan((rule.prefix + mutated).encode())
    assert found == []


def test_every_substitution_of_one_token_is_rejected_exhaustively() -> None:
    token = mint(ACME, random.Random(7))
    body = token[len(ACME.prefix):]
    scanner = Scanner([ACME], use_hyperscan=False)
    docs = []
    for pos in range(len(body)):
        for c in BASE62:
            if c != body[pos]:
                docs.append((ACME.prefix + body[:pos] + c + body[pos + 1:]).encode())
    assert len(docs) == 36 * 61
    results = scanner.scan_batch(docs)
    assert all(r == [] for r in results)
    assert sum(scanner.stats.bad_checksum.values()) == len(docs)
    assert [m.text for m in scanner.scan(token.encode())] == [token]
