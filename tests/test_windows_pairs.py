"""Streams cut into windows (``crawler.detect.windows``) keep what pairs and leads need (issue 13):
a companion on the far side of a window edge, a lead that starts before it."""

from __future__ import annotations

import random

import pytest

from crawler.detect.mint import mint
from crawler.detect.rules import Rule, find_rule, load_rules
from crawler.detect.scanner import HAVE_HYPERSCAN, Scanner
from crawler.detect.windows import lookback, overlap, scan_stream

RULES = load_rules()


def rule(rule_id: str) -> Rule:
    found = find_rule(RULES, rule_id)
    assert found is not None
    return found


@pytest.mark.parametrize("hs", [False, True] if HAVE_HYPERSCAN else [False])
def test_a_pair_split_by_a_window_edge_is_found_once(hs: bool) -> None:
    scanner = Scanner([rule("aws-access-key"), rule("aws-access-key-id")], use_hyperscan=hs)
    key_id, secret = mint(rule("aws-access-key"), random.Random("w")).split(":")
    window = 512
    assert lookback(scanner) > 0 and overlap(scanner) > len(key_id)
    for at in range(window - 60, window + 60, 7):  # the key id around the first edge, the secret before it
        head = b"#" * (at - len(secret) - 4) + secret.encode() + b" = "
        data = head + b"\n" + key_id.encode() + b"\n" + b"." * 2000
        chunks = [data[i:i + 100] for i in range(0, len(data), 100)]
        found = list(scan_stream(scanner, chunks, window=window))
        assert [(f.match.rule.id, f.match.token.decode(), f.match.line) for f in found] == [
            ("aws-access-key", f"{key_id}:{secret}", 2)], at
        (f,) = found
        assert data[f.match.companion[0]:f.match.companion[1]] == secret.encode()  # type: ignore[index]


def test_a_lead_token_across_a_window_edge_is_found_once() -> None:
    scanner = Scanner([rule("azure-devops-pat")], use_hyperscan=False)
    token = mint(rule("azure-devops-pat"), random.Random("lead")).encode()
    window = 256
    for at in range(window - len(token) - 2, window + 3, 5):
        data = b"x " * (at // 2) + b" " * (at % 2) + token + b"\n"
        found = list(scan_stream(scanner, [data[i:i + 33] for i in range(0, len(data), 33)], window=window))
        assert [(f.match.start, f.match.token) for f in found] == [(at, token)], at
