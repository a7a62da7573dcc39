"""``leakpatrol rules check`` / ``rules list``: every rule proves its examples (issue 13)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from crawler.detect.mint import mint
from crawler.detect.rules import builtin_rule_ids
from tests.cli.helpers import ACME, ACME_RULE, run, write_config


def _org_rule(examples: list[str], negatives: list[str]) -> str:
    quoted = lambda xs: "[" + ", ".join(f'"{x}"' for x in xs) + "]"  # noqa: E731
    return ACME_RULE + f"examples = {quoted(examples)}\nnegative_examples = {quoted(negatives)}\n"


@pytest.fixture(autouse=True)
def _cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ./leakpatrol.toml unless a test writes one


def test_the_built_in_pack_holds(capsys: pytest.CaptureFixture[str]) -> None:
    res = run(capsys, "rules", "check")
    assert res.code == 0, res.err
    assert res.out.startswith(f"{len(builtin_rule_ids())} rules,") and "all hold" in res.out
    assert res.err == ""


def test_org_rules_with_good_examples_hold(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    good = mint(ACME, random.Random("good"))
    cfg = write_config(tmp_path, _org_rule([good], [good[:-1]]))
    res = run(capsys, "rules", "check", "-c", str(cfg))
    assert res.code == 0, res.err


@pytest.mark.parametrize(("case", "message"), [
    ("bad-checksum", "example 1: its crc32-base62 checksum does not hold"),
    ("negative-matches", "negative example 1 matches"),
    ("too-short", "example 1: not matched whole by the rule"),
])
def test_each_kind_of_problem_is_named(capsys: pytest.CaptureFixture[str], tmp_path: Path, case: str,
                                       message: str) -> None:
    good = mint(ACME, random.Random(case))
    flipped = good[:-1] + ("A" if good[-1] != "A" else "B")
    examples, negatives = {
        "bad-checksum": ([flipped], []),
        "negative-matches": ([good], [good]),
        "too-short": ([good[:-2]], []),
    }[case]
    cfg = write_config(tmp_path, _org_rule(examples, negatives))
    res = run(capsys, "rules", "check", "-c", str(cfg))
    assert res.code == 1
    assert f"acme-live: {message}" in res.err.splitlines()
    assert "1 problem(s)" in res.out
    assert flipped not in res.err and good not in res.err  # a problem never prints a token


def test_rules_list_names_every_rule(capsys: pytest.CaptureFixture[str]) -> None:
    res = run(capsys, "rules", "list")
    assert res.code == 0
    rows = [line.split("\t") for line in res.out.splitlines()]
    assert [r[0] for r in rows] == builtin_rule_ids()
    assert ["aws-access-key", "critical", "aws", "none (paired)"] in rows


def test_rules_needs_a_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    res = run(capsys, "rules")
    assert res.code == 2 and "check|list" in res.err
