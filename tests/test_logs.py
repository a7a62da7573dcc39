"""The log handlers the CLI installs: JSON lines, and the last-line scrubber that redacts any token
of a loaded rule (the code itself logs only redacted forms; this catches a mistake)."""

from __future__ import annotations

import json
import logging

import pytest

from crawler.config.model import RuleConfig
from crawler.detect.mint import mint
from crawler.detect.rules import compile_rule, find_rule, load_rules
from crawler.engine.logs import scrub_with, setup_logging


def test_builtin_tokens_are_scrubbed_from_any_log_line(restore_logging: None,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    rules = load_rules(None)
    token = mint(find_rule(rules, "github-pat-classic"))  # type: ignore[arg-type]
    setup_logging("human", rules=rules)
    logging.getLogger("test").warning("oops %s leaked", token)
    err = capsys.readouterr().err
    assert token not in err
    assert token[:8] + "…sha256:" in err and "leaked" in err


def test_organisation_rules_join_the_scrubber(restore_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    org = compile_rule(RuleConfig(id="acme-live", prefix="acme_live_", charset="base62", length=36,
                                  checksum="crc32-base62"))
    token = mint(org)
    setup_logging("json", rules=load_rules(None))
    logging.getLogger("test").info("before: %s", token)
    scrub_with([org])
    logging.getLogger("test").info("after: %s", token)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert lines[0]["msg"] == f"before: {token}"  # not a rule the scrubber knew yet
    assert token not in lines[1]["msg"] and lines[1]["msg"].startswith("after: acme_live_")
    assert {"ts", "level", "logger", "msg"} <= set(lines[1])


def test_both_halves_of_a_pair_are_scrubbed(restore_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    rules = load_rules(None)
    key_id, secret = mint(find_rule(rules, "aws-access-key")).split(":")  # type: ignore[arg-type]
    setup_logging("human", rules=rules)
    logging.getLogger("test").warning("id=%s secret=%s", key_id, secret)
    err = capsys.readouterr().err
    assert key_id not in err and secret not in err
    assert "secret=[redacted]" in err and "id=AKIA" in err
