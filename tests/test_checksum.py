"""The ``crc32-base62`` checksum (DESIGN.md "Token rules and the crc32-base62 checksum")."""

from __future__ import annotations

import random
import struct
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.config.model import RuleConfig
from crawler.detect.checksum import (
    BASE62,
    CHECKSUM_LEN,
    CHECKSUMS,
    base62,
    crc32_base62,
    crc32_base62_ok,
    gitlab_crc,
    grafana_crc,
)
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


# -- the other named kinds (crawler/detect/checksum.py) -----------------------------------------


def _base36_by_hand(n: int, width: int) -> str:
    digits = ""
    while n:
        n, r = divmod(n, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[r] + digits
    return digits.rjust(width, "0")


def test_gitlab_crc_known_vector() -> None:
    # 0x0D4A1185 = 222957957 = 3*36**5 + 24*36**4 + 26*36**3 + 27*36**2 + 16*36 + 21 -> "3oqrgl", padded "03oqrgl"
    assert 3 * 36**5 + 24 * 36**4 + 26 * 36**3 + 27 * 36**2 + 16 * 36 + 21 == 222957957
    assert gitlab_crc(b"hello world") == "03oqrgl" == _base36_by_hand(222957957, 7)


def test_grafana_crc_known_vector() -> None:
    # little-endian bytes of 0x0D4A1185: 85 11 4a 0d
    assert grafana_crc(b"hello world") == "85114a0d"


def test_gitlab_routable_versioned_vector() -> None:
    """The shape of trufflehog's sample (pkg/detectors/gitlab/v3/gitlab_v3_test.go@3ab759f): its
    length field holds (38 = "12" in base36) but its CRC is the literal "03afake", so it fails; the
    same token with the CRC computed over everything before it, prefix included, holds."""
    kind = CHECKSUMS["gitlab-routable"]
    payload = "3fZ1p5y4XWcCvMGVlfakeW86MQp1Oml3Ymg0Cw"
    assert len(payload) == 38 and _base36_by_hand(38, 2) == "12"
    assert not kind.ok(b"glpat-", f"{payload}.01.1203afake".encode())
    head = f"glpat-{payload}.01.12"
    crc = _base36_by_hand(zlib.crc32(head.encode()), 7)
    assert kind.ok(b"glpat-", f"{payload}.01.12{crc}".encode())
    assert kind.complete("glpat-", f"{payload}.01.1203afake") == f"{payload}.01.12{crc}"
    # The CRC covers the prefix: the same body under another prefix fails.
    assert not kind.ok(b"glrt-", f"{payload}.01.12{crc}".encode())
    # A wrong length field fails even with a matching CRC.
    bad_head = f"glpat-{payload}.01.13"
    bad_crc = _base36_by_hand(zlib.crc32(bad_head.encode()), 7)
    assert not kind.ok(b"glpat-", f"{payload}.01.13{bad_crc}".encode())


def test_gitlab_routable_unversioned_vector() -> None:
    kind = CHECKSUMS["gitlab-routable"]
    payload = "mslgf8DAlmoFIaDE_nxvhrXGp_9_i3dn8Z"
    head = f"glpat-{payload}.{_base36_by_hand(len(payload), 2)}"
    body = head[len("glpat-"):] + _base36_by_hand(zlib.crc32(head.encode()), 7)
    assert kind.ok(b"glpat-", body.encode())
    flipped = body[:-1] + ("0" if body[-1] != "0" else "1")
    assert not kind.ok(b"glpat-", flipped.encode())


def test_grafana_service_account_vector() -> None:
    """grafana/grafana pkg/components/satokengen: crc32 of ``glsa_<secret>``, little-endian hex."""
    kind = CHECKSUMS["grafana-crc32-hex"]
    secret = "JAZOQk9N2Vt68fzxqzsSXoA0A34ghOlY"
    crc = struct.pack("<I", zlib.crc32(f"glsa_{secret}".encode())).hex()
    assert kind.ok(b"glsa_", f"{secret}_{crc}".encode())
    big_endian = struct.pack(">I", zlib.crc32(f"glsa_{secret}".encode())).hex()
    assert big_endian != crc and not kind.ok(b"glsa_", f"{secret}_{big_endian}".encode())
    assert not kind.ok(b"glsa_", f"{secret}_{crc[:-1]}".encode())


def test_github_published_samples() -> None:
    """A token from a peer's published samples (kingfisher data/rules/github.yml@ee7c0db) holds; GitHub's
    own documentation placeholders (ghu_16C7e…, the ghr_ example of the refresh-token page) do not, so
    they are discarded offline."""
    assert crc32_base62_ok(b"ZJDeVREhkptGF7Wvep0NwJWlPEQP7a0t2nxL")
    assert not crc32_base62_ok(b"16C7e42F292c69C2E7C10c838347Ae178B4a")
    assert not crc32_base62_ok(b"1B4a2e77838347a7E420ce178F2E7c6912E169246c3CE1ccbF66C46812d16D5B1A9Dc86A1498")


@pytest.mark.parametrize("name", sorted(CHECKSUMS))
def test_every_kind_completes_what_it_checks(name: str) -> None:
    kind = CHECKSUMS[name]
    rng = random.Random(name)
    bodies = {
        "crc32-base62": lambda: "".join(rng.choice(BASE62) for _ in range(36)),
        "gitlab-routable": lambda: "".join(rng.choice(BASE62) for _ in range(40)) + ".01.000000000",
        "grafana-crc32-hex": lambda: "".join(rng.choice(BASE62) for _ in range(32)) + "_00000000",
    }
    for _ in range(20):
        body = kind.complete("pfx_", bodies[name]())
        assert kind.ok(b"pfx_", body.encode())
