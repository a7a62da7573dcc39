"""Redacted form (DESIGN.md): prefix + at most 4 body characters + ``…sha256:`` + 8 hex digits."""

from __future__ import annotations

import hashlib
import random
import re

from hypothesis import given
from hypothesis import strategies as st

from crawler.config.model import RuleConfig
from crawler.detect.mint import mint
from crawler.detect.redaction import fingerprint, redact
from crawler.detect.rules import compile_rule
from crawler.detect.scanner import Scanner

ACME = compile_rule(RuleConfig(id="acme-live", prefix="acme_live_", charset="base62", length=36,
                               checksum="crc32-base62"))
FORM = re.compile(r"^(?P<prefix>.*?)(?P<shown>[^…]{0,4})…sha256:(?P<fp>[0-9a-f]{8})$")


def test_fingerprint_is_sha256_hex_of_the_token_bytes() -> None:
    token = mint(ACME, random.Random(1))
    fp = fingerprint(token)
    assert fp == hashlib.sha256(token.encode()).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", fp)
    assert fingerprint(token.encode()) == fp


def test_redacted_form_of_a_minted_token() -> None:
    token = mint(ACME, random.Random(2))
    body = token[len(ACME.prefix):]
    out = redact(token, ACME.prefix)
    assert out == f"{ACME.prefix}{body[:4]}…sha256:{fingerprint(token)[:8]}"
    assert body not in out
    assert token not in out


def test_match_renders_redacted_and_hides_token_in_repr() -> None:
    token = mint(ACME, random.Random(3))
    [m] = Scanner([ACME], use_hyperscan=False).scan(f"key = {token}\n".encode())
    assert m.fingerprint == fingerprint(token)
    assert m.redacted == redact(token, ACME.prefix)
    assert token not in repr(m)
    assert token[len(ACME.prefix) + 4:] not in repr(m)


@given(prefix=st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=2, max_size=12),
       body=st.text(st.characters(min_codepoint=48, max_codepoint=122), min_size=1, max_size=200))
def test_form_and_never_the_full_body(prefix: str, body: str) -> None:
    token = prefix + body
    out = redact(token, prefix)
    assert out.startswith(prefix)
    rest = out[len(prefix):]
    shown, _, tail = rest.partition("…sha256:")
    assert tail == hashlib.sha256(token.encode()).hexdigest()[:8]
    assert len(shown) <= 4
    assert body.startswith(shown)
    assert len(shown) < len(body)  # never the whole body
    assert body not in rest.partition("…")[0]
    assert FORM.match(out)


def test_short_bodies_show_at_most_a_quarter() -> None:
    assert redact("pk_abcdefgh", "pk_").startswith("pk_ab…")
    assert redact("pk_abc", "pk_").startswith("pk_…sha256:")
    assert redact("pk_" + "x" * 100, "pk_").startswith("pk_xxxx…")


def test_bytes_and_str_render_the_same() -> None:
    token = mint(ACME, random.Random(4))
    assert redact(token.encode(), ACME.prefix) == redact(token, ACME.prefix)


def test_explicit_fingerprint() -> None:
    token = mint(ACME, random.Random(5))
    fp = fingerprint(token)
    out = redact(token, ACME.prefix, fp)
    assert out == ACME.prefix + token[len(ACME.prefix):len(ACME.prefix) + 4] + "…sha256:" + fp[:8]
