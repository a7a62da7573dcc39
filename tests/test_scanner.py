"""The scanner: boundaries, positions, checksum, caps, batching — for both engines, which must agree.

DESIGN.md "Token rules": a match is prefix + body; the character before the prefix is not
``[A-Za-z0-9_]`` (or the text starts there); the character after the body is not in the charset
(or the text ends).
"""

from __future__ import annotations

import functools
import json
import random
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.config.model import RuleConfig
from crawler.detect.checksum import CHECKSUM_LEN
from crawler.detect.mint import mint
from crawler.detect.rules import CHARSETS, Rule, compile_rule
from crawler.detect.scanner import HAVE_HYPERSCAN, Match, Scanner, ScanStats


def _rule(**kw: object) -> Rule:
    return compile_rule(RuleConfig.model_validate(kw))


ACME = _rule(id="acme-live", prefix="acme_live_", charset="base62", length=36, checksum="crc32-base62")
PLAIN = _rule(id="plain-hex", prefix="tok_", charset="hex", length=32)
RANGE = _rule(id="range-b64", prefix="rng-", charset="base64url", min_length=20, max_length=40)
# Slack-like: two numeric ids, then a 24-character secret. Bounded repeats only (linear time).
SLACKY = _rule(id="slacky", prefix="xoxq-", regex=r"[0-9]{10,13}-[0-9]{10,13}-[A-Za-z0-9]{24}")
# A prefix that is a prefix of another rule's prefix, and that contains body characters.
SHORT = _rule(id="short-upper", prefix="AKQA", charset="upper_alnum", length=16)
RULES = [ACME, PLAIN, RANGE, SLACKY, SHORT]

ENGINES = [
    pytest.param(False, id="python"),
    pytest.param(True, id="hyperscan",
                 marks=pytest.mark.skipif(not HAVE_HYPERSCAN, reason="hyperscan is not installed")),
]
needs_hs = pytest.mark.skipif(not HAVE_HYPERSCAN, reason="hyperscan is not installed")


@pytest.fixture(params=ENGINES)
def hs(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def tok(rule: Rule = ACME, seed: int = 0) -> str:
    return mint(rule, random.Random(seed))


def scan(data: bytes, hs: bool, rules: Sequence[Rule] = RULES, **kw: int) -> list[Match]:
    return Scanner(rules, use_hyperscan=hs, **kw).scan(data)


def key(matches: Sequence[Match]) -> list[tuple[str, int, int, int, int]]:
    return [(m.rule.id, m.start, m.end, m.line, m.column) for m in matches]


def expected_position(data: bytes, start: int) -> tuple[int, int]:
    """Reference line/column (1-based, column in bytes), computed the slow obvious way."""
    before = data[:start].split(b"\n")
    return len(before), len(before[-1]) + 1


# -- boundaries ---------------------------------------------------------------------------------


@pytest.mark.parametrize("before", [b"x", b"Z", b"7", b"_"])
def test_word_character_before_prefix_is_no_match(hs: bool, before: bytes) -> None:
    t = tok().encode()
    assert scan(b"key " + before + t + b"\n", hs) == []


@pytest.mark.parametrize("before", [b" ", b"=", b'"', b"'", b"/", b"-", b".", b":", b"\t", b"\n", b"\x00",
                                    b"\xff", b"\xc3", b"(", b"@"])
def test_non_word_before_prefix_matches(hs: bool, before: bytes) -> None:
    t = tok().encode()
    data = b"key" + before + t
    assert key(scan(data, hs)) == [("acme-live", 4, 4 + len(t), *expected_position(data, 4))]


def test_body_one_character_short(hs: bool) -> None:
    t = tok()
    assert scan(t[:-1].encode(), hs) == []
    assert scan(t[:-1].encode() + b" tail", hs) == []
    p = tok(PLAIN)
    assert scan(f"v={p[:-1]};".encode(), hs) == []
    assert [m.text for m in scan(f"v={p};".encode(), hs)] == [p]


@pytest.mark.parametrize("after", [b"A", b"z", b"0"])
def test_body_one_character_too_long(hs: bool, after: bytes) -> None:
    t = tok().encode()
    assert scan(t + after, hs) == []
    assert scan(b" " + t + after + b" ", hs) == []
    p = tok(PLAIN).encode()
    assert scan(p + b"a", hs) == []


@pytest.mark.parametrize("after", [b"_", b"-", b".", b"\n", b'"', b"\xff", b"g", b"G"])
def test_character_after_body_outside_charset_matches(hs: bool, after: bytes) -> None:
    # "_", "-", "g", "G" are not in the hex charset of PLAIN; "_" / "-" are not in base62 either.
    p = tok(PLAIN).encode()
    assert [m.token for m in scan(p + after, hs)] == [p]
    if after not in (b"g", b"G"):
        t = tok().encode()
        assert [m.token for m in scan(t + after, hs)] == [t]


def test_charset_of_base64url_extends_over_dash_and_underscore(hs: bool) -> None:
    r = tok(RANGE, 3)
    body = r[len(RANGE.prefix):]
    # Filling a 40-char body exactly matches; one more base64url character ("-") makes it too long.
    full = RANGE.prefix + (body + "x" * 40)[:40]
    assert [m.text for m in scan(full.encode(), hs)] == [full]
    assert scan((full + "-").encode(), hs) == []
    assert [m.text for m in scan((full + "+").encode(), hs)] == [full]


def test_token_at_start_and_end_of_file(hs: bool) -> None:
    t = tok().encode()
    assert key(scan(t, hs)) == [("acme-live", 0, len(t), 1, 1)]
    data = b"line one\nline two\n" + t
    assert key(scan(data, hs)) == [("acme-live", 18, 18 + len(t), 3, 1)]
    data = b"x = 1\nsecret=" + t
    assert key(scan(data, hs)) == [("acme-live", 13, 13 + len(t), 2, 8)]


def test_crlf_line_endings(hs: bool) -> None:
    t = tok().encode()
    data = b"first\r\nsecond\r\n  key: " + t + b"\r\nafter\r\n"
    [m] = scan(data, hs)
    assert (m.line, m.column) == (3, 8)
    assert m.start == data.index(t)
    assert m.token == t  # "\r" after the body is not part of it


def test_empty_and_prefix_only_documents(hs: bool) -> None:
    assert scan(b"", hs) == []
    assert scan(ACME.prefix_bytes, hs) == []
    assert scan(ACME.prefix_bytes * 50, hs) == []


# -- realistic containers -----------------------------------------------------------------------


def _one(data: bytes, hs: bool, t: str) -> Match:
    found = scan(data, hs)
    assert [m.text for m in found] == [t]
    m = found[0]
    assert m.start == data.index(t.encode())
    assert m.end == m.start + len(t)
    assert (m.line, m.column) == expected_position(data, m.start)
    return m


def test_token_inside_json(hs: bool) -> None:
    t = tok(seed=11)
    data = json.dumps({"service": "billing", "auth": {"api_key": t}}, indent=2).encode()
    m = _one(data, hs, t)
    assert m.line == 4


def test_token_inside_yaml(hs: bool) -> None:
    t = tok(seed=12)
    data = f"env:\n  - name: ACME_KEY\n    value: {t}\n  - name: OTHER\n".encode()
    m = _one(data, hs, t)
    assert (m.line, m.column) == (3, 12)


def test_token_inside_url_query(hs: bool) -> None:
    t = tok(seed=13)
    data = f"curl 'https://api.acme.example/v1/x?key={t}&x=1'\n".encode()
    _one(data, hs, t)


def test_token_inside_diff_plus_line(hs: bool) -> None:
    t = tok(seed=14)
    data = (f"diff --git a/settings.py b/settings.py\n--- a/settings.py\n+++ b/settings.py\n"
            f"@@ -1,2 +1,2 @@\n-ACME_KEY = None\n+ACME_KEY = \"{t}\"\n").encode()
    m = _one(data, hs, t)
    assert (m.line, m.column) == (6, 14)  # the "+" of the diff counts


def test_byte_offsets_lines_and_columns_many_tokens(hs: bool) -> None:
    rng = random.Random(5)
    parts, spans = [], []
    pos = 0
    for i in range(60):
        filler = "".join(rng.choice(" \n\t=:;,abc") for _ in range(rng.randint(1, 40)))
        filler = " " + filler.strip("abc") + " "
        t = tok(RULES[i % len(RULES)], i)
        parts += [filler, t]
        pos += len(filler.encode())
        spans.append((RULES[i % len(RULES)].id, pos, pos + len(t)))
        pos += len(t)
    data = "".join(parts).encode()
    got = key(scan(data, hs))
    want = [(rid, s, e, *expected_position(data, s)) for rid, s, e in spans]
    assert got == want


# -- checksum, binary, caps ---------------------------------------------------------------------


def test_failed_checksum_is_discarded_and_counted(hs: bool) -> None:
    t = tok(seed=21)
    last = t[-1]
    bad = t[:-1] + ("A" if last != "A" else "B")
    scanner = Scanner(RULES, use_hyperscan=hs)
    assert scanner.scan(f"a={bad}\nb={bad}\n".encode()) == []
    assert scanner.stats.bad_checksum["acme-live"] == 2
    assert [m.text for m in scanner.scan(f"ok={t}".encode())] == [t]
    assert scanner.stats.bad_checksum["acme-live"] == 2


def test_binary_and_invalid_utf8_around_token(hs: bool) -> None:
    t = tok(seed=22).encode()
    rng = random.Random(22)
    junk = bytes(rng.randrange(256) for _ in range(5000))
    data = junk + b"\xff\xfe\x80" + t + b"\xc3\x28\xa0\xa1" + junk
    found = scan(data, hs)
    assert t in [m.token for m in found]
    m = next(m for m in found if m.token == t)
    assert m.start == len(junk) + 3
    assert (m.line, m.column) == expected_position(data, m.start)
    # UTF-16 text is not decoded: nothing found, and nothing crashes.
    assert scan(t.decode().encode("utf-16-le"), hs) == []


def test_max_document_bytes_caps_the_scan(hs: bool) -> None:
    t = tok(seed=23).encode()
    early = b"a " + t + b"\n"
    data = early + b"." * 5000 + b" " + t + b"\n"
    scanner = Scanner(RULES, use_hyperscan=hs, max_document_bytes=2048)
    assert [m.start for m in scanner.scan(data)] == [2]
    assert scanner.stats.bytes_scanned == 2048
    # A token cut by the cap is not a token.
    cut = b"." * (2048 - len(t) + 5) + b" " + t
    assert scanner.scan(cut) == []
    assert [m.start for m in Scanner(RULES, use_hyperscan=hs).scan(data)] == [2, len(data) - len(t) - 1]


def test_scan_batch_equals_scanning_each_alone(hs: bool) -> None:
    rng = random.Random(31)
    docs: list[bytes] = []
    for i in range(3000):
        kind = i % 5
        if kind == 0:
            docs.append(b"")
        elif kind == 1:
            docs.append(tok(RULES[i % len(RULES)], i).encode())  # whole doc is a token
        elif kind == 2:
            t = tok(RULES[i % len(RULES)], i)
            docs.append(f"x\n  k={t}\n".encode())
        elif kind == 3:
            docs.append(bytes(rng.randrange(256) for _ in range(rng.randint(0, 300))))
        else:  # a token split across two documents must not be found
            t = tok(ACME, i).encode()
            docs.append(t[:20])
            docs.append(t[20:])
    docs.append(b"z" * 700_000 + b" " + tok(seed=99).encode())  # forces several Hyperscan buffers
    scanner, single = Scanner(RULES, use_hyperscan=hs), Scanner(RULES, use_hyperscan=hs)
    batched = scanner.scan_batch(docs)
    alone = [single.scan(d) for d in docs]
    assert [key(b) for b in batched] == [key(a) for a in alone]
    assert sum(len(b) for b in batched) == 1200 + 1
    capped = Scanner(RULES, use_hyperscan=hs, max_document_bytes=1024).scan_batch(docs)
    assert capped[-1] == []
    assert [key(c) for c in capped[:-1]] == [key(a) for a in alone[:-1]]


# -- rule shapes --------------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "found"), [(19, False), (20, True), (31, True), (40, True), (41, False)])
def test_min_max_length(hs: bool, n: int, found: bool) -> None:
    body = "".join(random.Random(n).choice(CHARSETS["base64url"]) for _ in range(n))
    data = f"k: {RANGE.prefix}{body}\n".encode()
    got = [m.text for m in scan(data, hs)]
    assert got == ([RANGE.prefix + body] if found else [])


def test_regex_rule(hs: bool) -> None:
    t = tok(SLACKY, 1)
    assert [m.rule.id for m in scan(f"SLACK={t}\n".encode(), hs)] == ["slacky"]
    good = "xoxq-1234567890-123456789012-" + "a" * 24
    assert [m.text for m in scan(good.encode() + b"\n", hs)] == [good]
    assert scan(b"xoxq-123456789-1234567890-" + b"a" * 24, hs) == []  # first id too short
    assert scan(b"xoxq-1234567890-1234567890-" + b"a" * 23 + b" ", hs) == []  # secret too short
    assert scan(good.encode() + b"b", hs) == []  # followed by a body (base64url) character
    assert scan(b"x" + good.encode(), hs) == []


def test_prefix_containing_body_characters(hs: bool) -> None:
    t = tok(SHORT, 2)
    assert [m.text for m in scan(f" {t} ".encode(), hs)] == [t]
    assert scan(f" AKQA{t} ".encode(), hs) == []  # one long run: too long, and word before inner prefix


def test_duplicate_span_across_two_rules_reported_once(hs: bool) -> None:
    a = _rule(id="dup-a", prefix="dup_", charset="hex", length=20)
    b = _rule(id="dup-b", prefix="dup_", charset="hex_any", length=20)
    t = tok(a, 1)
    found = scan(f"x {t} y".encode(), hs, rules=[a, b])
    assert [(m.rule.id, m.text) for m in found] == [("dup-a", t)]
    found = scan(f"x {t} y".encode(), hs, rules=[b, a])
    assert [m.rule.id for m in found] == ["dup-b"]


def test_overlapping_prefixes_both_rules_seen(hs: bool) -> None:
    short = _rule(id="sk", prefix="sk_", charset="base62", length=24)
    long = _rule(id="sk-live", prefix="sk_live_", charset="base62", length=24)
    t1, t2 = tok(short, 1), tok(long, 2)
    found = scan(f"{t1}\n{t2}\n".encode(), hs, rules=[short, long])
    assert [(m.rule.id, m.text) for m in found] == [("sk", t1), ("sk-live", t2)]


def test_prefix_that_is_a_suffix_of_another(hs: bool) -> None:
    # The pure-Python engine matches prefixes backwards, longest first: the shorter prefix ending
    # at the same byte must still be proposed.
    inner = _rule(id="inner", prefix="ab_", charset="base62", length=20)
    outer = _rule(id="outer", prefix="k-ab_", charset="base62", length=20)
    same_end = _rule(id="same-end", prefix="b_", charset="hex", length=20)
    body = "0123456789abcdefABCD"
    data = f"k-ab_{body}\n-ab_{body}\nxab_{body}\n".encode()
    found = scan(data, hs, rules=[inner, outer, same_end])
    assert key(found) == [("outer", 0, 25, 1, 1), ("inner", 2, 25, 1, 3),
                          ("inner", 27, 50, 2, 2)]
    hexbody = "0123456789abcdef0123"
    found = scan(f"-b_{hexbody} ab_{hexbody}".encode(), hs, rules=[inner, outer, same_end])
    assert [(m.rule.id, m.start) for m in found] == [("same-end", 1), ("inner", 24)]


def test_no_rules_finds_nothing(hs: bool) -> None:
    assert Scanner([], use_hyperscan=hs).scan(tok().encode()) == []


# -- engine agreement ---------------------------------------------------------------------------

TOKENS = [tok(r, s) for r in RULES for s in range(4)]
PIECES = st.one_of(
    st.binary(max_size=30),
    st.sampled_from([r.prefix_bytes for r in RULES]),
    st.sampled_from([t.encode() for t in TOKENS]),
    st.sampled_from([t.encode() for t in TOKENS]).flatmap(
        lambda t: st.integers(1, len(t) - 1).map(lambda k: t[:k])),  # truncated
    st.tuples(st.sampled_from([t.encode() for t in TOKENS]), st.integers(0, 80), st.binary(min_size=1, max_size=1))
    .map(lambda x: x[0][: x[1]] + x[2] + x[0][x[1] + 1:]),  # one byte mutated
    st.sampled_from([b" ", b"\n", b"\r\n", b"_", b"A", b"=", b"-", b"0", b"\x00"]),
)


@functools.cache
def _agreement_scanners() -> tuple[Scanner, Scanner]:
    return Scanner(RULES, use_hyperscan=False), Scanner(RULES, use_hyperscan=True)


@needs_hs
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(PIECES, max_size=30).map(b"".join), min_size=1, max_size=6))
def test_engines_agree_on_generated_inputs(docs: list[bytes]) -> None:
    py, hs = _agreement_scanners()
    py.stats, hs.stats = ScanStats(), ScanStats()
    assert [key(m) for m in hs.scan_batch(docs)] == [key(m) for m in py.scan_batch(docs)]
    assert [key(hs.scan(d)) for d in docs] == [key(py.scan(d)) for d in docs]
    assert hs.stats.bad_checksum == py.stats.bad_checksum


def _corpus(size: int, seed: int) -> tuple[list[bytes], set[str]]:
    rng = random.Random(seed)
    words = [b"def", b"return", b"self", b"import", b"class", b"None", b"=", b"(", b")", b":", b"\n", b"\r\n",
             b"    ", b"# comment", b"value", b"0x1f", b"'str'", b'"key"']
    docs, planted, total = [], set(), 0
    while total < size:
        parts = []
        for _ in range(rng.randint(50, 3000)):
            r = rng.random()
            if r < 0.003:
                rule = rng.choice(RULES)
                t = mint(rule, rng)
                planted.add(t)
                parts.append(b" " + t.encode() + b" ")
            elif r < 0.005:
                t = mint(ACME, rng)
                i = rng.randrange(len(ACME.prefix), len(t))
                parts.append(b" " + (t[:i] + ("0" if t[i] != "0" else "1") + t[i + 1:]).encode() + b" ")
            elif r < 0.006:
                parts.append(b"x" + mint(rng.choice(RULES), rng).encode())  # word char before
            elif r < 0.007:
                parts.append(bytes(rng.randrange(256) for _ in range(rng.randint(1, 64))))
            elif r < 0.02:  # bare prefixes, some followed by too few body characters
                parts.append(rng.choice(RULES).prefix_bytes + b"A1b2c3d4e5f6"[: rng.randrange(13)])
            else:
                parts.append(rng.choice(words))
            parts.append(b" ")
        doc = b"".join(parts)
        docs.append(doc)
        total += len(doc)
    return docs, planted


@needs_hs
def test_engines_agree_on_a_5mb_corpus() -> None:
    docs, planted = _corpus(5 << 20, seed=2024)
    py, hs = Scanner(RULES, use_hyperscan=False), Scanner(RULES, use_hyperscan=True)
    got_py, got_hs = py.scan_batch(docs), hs.scan_batch(docs)
    assert [key(m) for m in got_hs] == [key(m) for m in got_py]
    found = {m.text for ms in got_py for m in ms}
    assert found == planted
    assert py.stats.bad_checksum == hs.stats.bad_checksum
    assert py.stats.bad_checksum["acme-live"] > 0


def test_checksum_len_constant_is_six() -> None:
    assert CHECKSUM_LEN == 6


# -- a lead (characters before the prefix) -------------------------------------------------------

LEADY = _rule(id="leady", prefix="Q~", charset="base62", length=31, lead_charset="base62", lead_min_length=4,
              lead_max_length=4)


def test_a_lead_is_confirmed_whole_in_a_batch(hs: bool) -> None:
    """Both engines, documents scanned together: the lead is counted within its own document, never
    in the one before it (Hyperscan's vectored mode scans them as one stream)."""
    body = "A" * 31
    docs = [b"x = 'abcdQ~" + body.encode() + b"'\n",  # found, lead included
            b"no lead: ' Q~" + body.encode() + b"'\n",  # no lead at all: nothing
            b"abc",  # ends with lead characters...
            b"Q~" + body.encode() + b"\n",  # ...that must not lend this one a lead across documents
            b"toolong: xabcdQ~" + body.encode() + b"\n",  # five lead characters: not this format
            b"\n" * 10 + b"wxyzQ~" + body.encode()]  # at the very end
    found = Scanner([LEADY], use_hyperscan=hs).scan_batch(docs)
    assert [[(m.start, m.end, m.token) for m in ms] for ms in found] == [
        [(5, 5 + 4 + 2 + 31, b"abcdQ~" + body.encode())], [], [], [], [],
        [(10, 10 + 37, b"wxyzQ~" + body.encode())]]
