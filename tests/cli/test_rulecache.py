"""``scan`` reads its rules from a cache keyed by everything they come from: a change is seen at once,
a bad config is still an error, and a warm start imports neither pydantic nor the daemon's stacks."""

from __future__ import annotations

import marshal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from crawler.cli.rulecache import scan_rules
from tests.cli.helpers import ACME_RULE, acme_token, run, write_config

OTHER_RULE = ACME_RULE.replace("acme-live", "beta-live").replace("acme_live_", "beta_live_")


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_changed_config_is_seen_at_once(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_config(work)
    token = acme_token()
    (work / "a.txt").write_text(token + "\n", encoding="utf-8")
    assert run(capsys, "scan", "a.txt").code == 1
    assert run(capsys, "scan", "a.txt").code == 1, "the second run reads the cache"
    write_config(work, OTHER_RULE)  # acme-live gone
    assert run(capsys, "scan", "a.txt").code == 0
    write_config(work, ACME_RULE + "colour = true\n")  # invalid: never served from a cache
    res = run(capsys, "scan", "a.txt")
    assert res.code == 2 and "rules[0].colour: unknown key" in res.err


def test_environment_and_config_path_are_part_of_the_key(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a = write_config(work, ACME_RULE, name="a.toml")
    b = write_config(work, OTHER_RULE, name="b.toml")
    assert scan_rules(str(a))[0].id == "acme-live"
    assert scan_rules(str(b))[0].id == "beta-live"
    monkeypatch.setenv("LEAKPATROL_CONFIG", str(b))
    assert scan_rules(None)[0].id == "beta-live"
    assert [r.id for r in scan_rules(str(a))] == [r.id for r in scan_rules(str(a))]


def test_cached_rules_equal_validated_ones(work: Path) -> None:
    from crawler.config.loading import read_config
    from crawler.detect.rules import load_rules

    cfg = write_config(work)
    first, second = scan_rules(str(cfg)), scan_rules(str(cfg))  # built, then read back
    assert second == first == load_rules(read_config(str(cfg)))


def _other_layout(data: bytes) -> bytes:
    form, names, rows = marshal.loads(data)
    return marshal.dumps((form, names, [row[:-1] for row in rows]))


@pytest.mark.parametrize("damage", [
    pytest.param(lambda data: data[: len(data) // 2], id="cut-short"),
    pytest.param(lambda data: b"\xff not marshal", id="not-marshal"),
    pytest.param(lambda data: marshal.dumps({"rules": []}), id="not-a-triple"),
    pytest.param(lambda data: marshal.dumps((3, (), [])), id="older-format"),
    pytest.param(lambda data: marshal.dumps((4, "not the fields", [])), id="other-fields"),
    pytest.param(_other_layout, id="rows-of-another-length"),
    pytest.param(lambda data: b"", id="empty"),
])
def test_a_damaged_cache_is_validated_again(work: Path, damage: Any) -> None:
    from crawler.cli.rulecache import cache_file

    cfg = write_config(work)
    first = scan_rules(str(cfg))
    cached = Path(cache_file(str(cfg)))
    good = cached.read_bytes()
    cached.write_bytes(damage(good))
    assert scan_rules(str(cfg)) == first  # validated again, not a crash
    assert cached.read_bytes() == good, "and the cache rewritten"


def test_a_warm_scan_imports_no_pydantic(tmp_path: Path) -> None:
    """Nor, when it has nothing to log, logging or dataclasses (a good part of the start-up)."""
    write_config(tmp_path)
    (tmp_path / "f.txt").write_text(acme_token() + "\n", encoding="utf-8")
    heavy = "{'pydantic', 'asyncio', 'sqlalchemy', 'logging', 'dataclasses', 'inspect'}"
    code = ("import sys\nfrom crawler import cli\nrc = cli.main(['scan', 'f.txt'])\n"
            f"print(rc, sorted({{m.split('.')[0] for m in sys.modules}} & {heavy}))\n")
    runs = [subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                           check=False) for _ in range(2)]
    first = runs[0].stdout.strip().splitlines()[-1]
    assert first.startswith("1 [") and "'pydantic'" in first, runs[0].stdout + runs[0].stderr
    assert runs[1].stdout.strip().splitlines()[-1] == "1 []", runs[1].stdout + runs[1].stderr
