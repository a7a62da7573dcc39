"""Issue 11, "freeze by one regex": ``regex = "(a|a){1,40}b"`` passed ``check`` and its body
confirmation was exponential, so a 45-byte document hung ``scan`` and the daemon. Now ``check``
refuses constructs that are not linear-time, naming the construct, and the body is confirmed on RE2."""

from __future__ import annotations

import re
import time

import pytest

from crawler.config.model import RuleConfig
from crawler.detect.rules import compile_rule
from crawler.detect.scanner import Scanner
from crawler.kernel.errors import RuleError


@pytest.mark.parametrize(("regex", "named"), [
    ("(a|a){1,40}b", "alternation"),
    ("(?:ab|cd){1,4}x", "alternation"),
    ("([a-z]{1,4}){2,8}", "nest quantifiers"),
    ("(a)\\1[a-z]{4}", "back-reference"),
    ("(?<=x)[a-z]{8}", "look-ahead or look-behind"),
    ("(?![0-9])[a-z]{8}", "negative look-ahead"),
    ("[a-z]{8}$", "anchor"),
])
def test_check_refuses_a_construct_that_is_not_linear_time_and_names_it(regex: str, named: str) -> None:
    with pytest.raises(RuleError) as err:
        compile_rule(RuleConfig(id="acme-org", prefix="acme_", regex=regex))
    assert named in err.value.problem and "linear time" in err.value.problem


def test_a_linear_regex_still_compiles_and_matches() -> None:
    rule = compile_rule(RuleConfig(id="acme-org", prefix="acme_", regex="[a-z]{8}(?:-[0-9])?"))
    assert not isinstance(rule.body_regex, re.Pattern)  # RE2, not the backtracking engine
    found = Scanner([rule]).scan(b"x acme_abcdefgh-4 y acme_zzzzzzzz z")
    assert [m.text for m in found] == ["acme_abcdefgh-4", "acme_zzzzzzzz"]


@pytest.mark.parametrize("engine", [True, False], ids=["hyperscan", "python"])
def test_the_old_exponential_pattern_confirms_in_linear_time_on_the_body_engine(engine: bool) -> None:
    """Even a pattern the check would refuse (built here past it) cannot hang a scan."""
    import crawler.detect.rules as rules

    base = compile_rule(RuleConfig(id="acme-org", prefix="acme_", regex="[a-b]{1,41}"))
    hostile = base._replace(body_regex=rules._linear_time("acme-org", "(a|a){1,40}b"))
    scanner = Scanner([hostile], use_hyperscan=engine)
    doc = b"acme_" + b"a" * 45  # 2^40 paths for a backtracking engine
    started = time.process_time()
    assert scanner.scan(doc * 100) == []
    assert [m.text for m in scanner.scan(b"acme_aaab ")] == ["acme_aaab"]
    assert time.process_time() - started < 5.0
