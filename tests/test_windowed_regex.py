"""The PEM rules' long runs are compiled left open for the scanner (``rules.windowed``): inside the
window the scanner matches in (``pos`` to ``pos + max_len``) the open pattern must give exactly what
the bounded one gives, at every length around the bounds, and a pattern of any other shape is left as
it is."""

from __future__ import annotations

import random

import pytest

from crawler.config.model import RuleConfig
from crawler.detect.rules import Rule, compile_rule, load_rules, windowed
from crawler.detect.scanner import Scanner

PEM = [r for r in load_rules(None) if windowed(r) is not None]
BODY = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\n\r\t \\"


def _tail(rule: Rule) -> bytes:
    pattern = bytes(rule.body_regex.pattern)  # type: ignore[union-attr]
    return pattern[pattern.rindex(b"}") + 1:]


def test_the_seven_pem_rules_are_opened_and_nothing_else() -> None:
    assert sorted(r.id for r in PEM) == ["private-key-dsa", "private-key-ec", "private-key-encrypted",
                                         "private-key-openssh", "private-key-pgp", "private-key-pkcs8",
                                         "private-key-rsa"]
    for r in PEM:
        assert b"*" in bytes(windowed(r).pattern) and b"{0,1000}" in bytes(r.body_regex.pattern)  # type: ignore


@pytest.mark.parametrize("rule", PEM, ids=lambda r: r.id)
def test_open_and_bounded_agree_inside_the_window(rule: Rule) -> None:
    rng = random.Random(rule.id)
    bounded, opened = rule.body_regex, windowed(rule)
    assert bounded is not None and opened is not None
    tail = _tail(rule)
    run_max = rule.max_len - len(tail)
    lengths = [0, 1, 63, 64, 65, 999, 1000, 1001, run_max - 1, run_max, run_max + 1, run_max + 2, run_max + 500]
    lengths += [rng.randrange(0, run_max + 600) for _ in range(40)]
    for n in lengths:
        body = bytes(rng.choice(BODY) for _ in range(n))
        for doc in (body + tail, body + tail + b"xyz", b"----" + body + tail, body + tail[:-1], body + b"-" + tail,
                    body + tail + body + tail):
            for pos in (0, 4):
                stop = min(len(doc), pos + rule.max_len)
                a, b = bounded.match(doc, pos, stop), opened.match(doc, pos, stop)
                assert (a and a.span()) == (b and b.span()), (rule.id, n, pos)


@pytest.mark.parametrize("regex", [
    "[a-z]{2,2000}=",  # a long run and a fixed tail: opened
    "[a-z]{2,2000}=?",  # a tail of two widths: not the same when opened
    "x[a-z]{2,2000}",  # the run is not where the pattern starts
    "[a-z]{2,900}=",  # short enough to compile fast as it is
    "[a-z]{2,2000}[0-9]{1,3}",  # two runs of variable length
])
def test_only_a_leading_run_with_a_fixed_rest_is_opened(regex: str) -> None:
    rule = compile_rule(RuleConfig(id="t", prefix="t_", regex=regex))
    assert (windowed(rule) is not None) == (regex == "[a-z]{2,2000}=")


def test_a_private_key_is_found_by_the_scanner_as_before() -> None:
    rule = next(r for r in PEM if r.id == "private-key-rsa")
    body = b"\n".join(b"MIIEow" + bytes(random.Random(i).choice(BODY[:64]) for _ in range(58)) for i in range(30))
    doc = b"key = '''" + rule.prefix_bytes + b"\n" + body + b"\n" + _tail(rule) + b"'''\n"
    too_long = rule.prefix_bytes + b"A" * (rule.max_len + 1) + _tail(rule)
    found = Scanner([rule], use_hyperscan=False).scan(doc + too_long)
    assert [(m.start, m.end) for m in found] == [(9, 9 + len(rule.prefix_bytes) + len(body) + 2 + len(_tail(rule)))]
