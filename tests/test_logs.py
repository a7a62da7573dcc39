"""The log handlers the CLI installs: JSON lines, and the last-line scrubber that redacts any token
of a loaded rule (the code itself logs only redacted forms; this catches a mistake)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from crawler.config.model import RuleConfig
from crawler.detect.mint import mint
from crawler.detect.rules import compile_rule, find_rule, load_rules
from crawler.engine.logs import scrub_with, setup_logging
from crawler.kernel import lazylog


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


# -- scan's deferred logging (crawler.kernel.lazylog) ------------------------------------------

@pytest.fixture
def deferred() -> Iterator[list[str]]:
    """What ran, in order; the lazy loggers' state is given back afterwards."""
    calls: list[str] = []
    yield calls
    lazylog.reset()


def test_a_record_below_the_level_runs_nothing_and_a_due_one_sets_up_first(
        restore_logging: None, deferred: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    org = compile_rule(RuleConfig(id="acme-live", prefix="acme_live_", charset="base62", length=36,
                                  checksum="crc32-base62"))
    token = mint(org)
    log = lazylog.Logger("crawler.test.lazy")

    def setup() -> None:
        deferred.append("setup")
        setup_logging("human", logging.INFO, rules=[])

    lazylog.defer(setup, lazylog.INFO)
    lazylog.after_setup(lambda: (deferred.append("rules"), scrub_with([org])))
    log.debug("dropped %s", token)
    assert deferred == [], "a record below the level neither sets up nor logs"
    log.info("found in %s", f"name-{token}.bin")
    assert deferred == ["setup", "rules"], "the set-up, then what waited for it, before the record"
    err = capsys.readouterr().err
    assert "INFO    crawler.test.lazy: found in name-acme_live_" in err and "dropped" not in err
    assert token not in err and token[-12:] not in err, "scrubbed with the rules given before the set-up ran"
    log.info("again")
    assert deferred == ["setup", "rules"], "set up once"
    assert "crawler.test.lazy: again" in capsys.readouterr().err


def test_with_nothing_deferred_records_go_to_logging_and_after_setup_runs_at_once(
        deferred: list[str], caplog: pytest.LogCaptureFixture) -> None:
    lazylog.after_setup(lambda: deferred.append("now"))
    assert deferred == ["now"]
    with caplog.at_level(logging.DEBUG, logger="crawler.test.lazy"):
        lazylog.Logger("crawler.test.lazy").debug("x=%d", 3)
    [record] = [r for r in caplog.records if r.name == "crawler.test.lazy"]
    assert record.getMessage() == "x=3" and record.levelno == logging.DEBUG
    assert record.funcName == "test_with_nothing_deferred_records_go_to_logging_and_after_setup_runs_at_once", \
        "the caller's line, not the stand-in's"


def test_reset_forgets_a_set_up_that_never_ran(deferred: list[str], caplog: pytest.LogCaptureFixture) -> None:
    lazylog.defer(lambda: deferred.append("setup"), lazylog.WARNING)
    lazylog.reset()
    with caplog.at_level(logging.DEBUG, logger="crawler.test.lazy"):
        lazylog.Logger("crawler.test.lazy").debug("through")
    assert deferred == [] and [r.getMessage() for r in caplog.records if r.name == "crawler.test.lazy"] == ["through"]


def test_ready_sets_up_now_so_a_library_logging_directly_is_scrubbed(
        restore_logging: None, deferred: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """``scan --verify`` calls ``ready`` before its HTTP client runs: that client logs through logging
    itself, not through a lazy logger, and its records must meet the scrubbing handler too."""
    rules = load_rules(None)
    token = mint(find_rule(rules, "github-pat-classic"))  # type: ignore[arg-type]
    lazylog.defer(lambda: (deferred.append("setup"), setup_logging("human", logging.INFO, rules=[])), lazylog.INFO)
    lazylog.after_setup(lambda: scrub_with(rules))
    lazylog.ready()
    assert deferred == ["setup"]
    logging.getLogger("some.library").warning("GET https://issuer.example/check?token=%s failed", token)
    err = capsys.readouterr().err
    assert "some.library: GET https://issuer.example/check?token=" in err
    assert token not in err and token[:8] + "…sha256:" in err
