"""``leakpatrol token mint RULE_ID`` / ``token check TOKEN``: the issuer helpers (offline)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from crawler.detect.checksum import BASE62, crc32_base62_ok
from crawler.detect.redaction import redact
from tests.cli.helpers import ACME_RULE, run, run_subprocess, write_config

PLAIN_RULE = """
[[rules]]
id = "acme-test"
prefix = "acme_test_"
charset = "hex"
length = 32
"""


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)
    return str(write_config(tmp_path, ACME_RULE + PLAIN_RULE))


def mint(capsys: pytest.CaptureFixture[str], rule_id: str, *extra: str) -> list[str]:
    res = run(capsys, "token", "mint", rule_id, *extra)
    assert res.code == 0, res.err
    return res.out.split()


def test_mint_then_check_an_org_rule(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    [token] = mint(capsys, "acme-live", "-c", config)
    assert token.startswith("acme_live_") and len(token) == len("acme_live_") + 36
    assert crc32_base62_ok(token[len("acme_live_"):].encode())
    res = run(capsys, "token", "check", token, "-c", config)
    assert res.code == 0
    assert res.out.strip() == f"{redact(token, 'acme_live_')}: well-formed acme-live token, checksum ok"
    assert token not in res.out + res.err


def test_mint_then_check_a_builtin_checksum_rule(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no config: the built-in pack only
    [token] = mint(capsys, "github-pat-classic")
    assert token.startswith("ghp_") and len(token) == 40
    res = run(capsys, "token", "check", token)
    assert res.code == 0
    assert "well-formed github-pat-classic token, checksum ok" in res.out
    assert token not in res.out + res.err


def test_rule_without_checksum(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    [token] = mint(capsys, "acme-test", "-c", config)
    res = run(capsys, "token", "check", token, "-c", config)
    assert res.code == 0
    assert res.out.strip().endswith("well-formed acme-test token")


def test_mint_count(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    tokens = mint(capsys, "acme-live", "-c", config, "-n", "5")
    assert len(tokens) == 5 and len(set(tokens)) == 5


@pytest.mark.parametrize("seed", range(8))
def test_a_one_character_change_fails_the_checksum(config: str, capsys: pytest.CaptureFixture[str],
                                                   seed: int) -> None:
    rng = random.Random(seed)
    [token] = mint(capsys, "acme-live", "-c", config)
    start = len("acme_live_")
    # Seeds 0 and 1 hit the checksum characters, the others the random part of the body.
    pos = len(token) - 1 - seed if seed < 2 else rng.randrange(start, len(token) - 6)
    changed = token[:pos] + rng.choice(BASE62.replace(token[pos], "")) + token[pos + 1:]
    res = run(capsys, "token", "check", changed, "-c", config)
    assert res.code == 1
    assert "not a valid acme-live token: checksum does not hold" in res.out
    assert res.out.startswith(redact(changed, "acme_live_"))
    assert changed not in res.out + res.err and token not in res.out + res.err
    assert changed[start:][-8:] not in res.out, "only the redacted form is printed"


def test_wrong_length_or_characters(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    [token] = mint(capsys, "acme-live", "-c", config)
    for bad in (token[:-1], token[:20] + "!" + token[21:]):
        res = run(capsys, "token", "check", bad, "-c", config)
        assert res.code == 1
        assert "wrong length or characters" in res.out
        assert bad not in res.out


def test_no_rule_matches(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    res = run(capsys, "token", "check", "hello_world_not_a_token", "-c", config)
    assert res.code == 1
    assert "no rule matches" in res.out
    assert "hello_world_not_a_token" not in res.out


def test_unknown_rule_suggests_the_closest(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    res = run(capsys, "token", "mint", "acme-lve", "-c", config)
    assert res.code == 2
    assert "unknown rule 'acme-lve'" in res.err and "did you mean 'acme-live'" in res.err
    res = run(capsys, "token", "mint", "githb-pat-classic", "-c", config)
    assert res.code == 2
    assert "did you mean 'github-pat-classic'" in res.err
    assert res.out == ""


def test_mint_and_check_in_real_processes(tmp_path: Path) -> None:
    write_config(tmp_path)
    minted = run_subprocess("token", "mint", "acme-live", cwd=tmp_path)
    assert minted.code == 0, minted.err
    token = minted.out.strip()
    checked = run_subprocess("token", "check", token, cwd=tmp_path)
    assert checked.code == 0
    assert "checksum ok" in checked.out
    assert token not in checked.out + checked.err
