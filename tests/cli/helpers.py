"""Shared helpers for the CLI tests: configs in ``tmp_path``, minted tokens, the example tree."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from crawler import cli
from crawler.config.model import RuleConfig
from crawler.detect.mint import mint
from crawler.detect.rules import compile_rule, find_rule, load_rules

EXAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "examples"
ACME_RULE = """
[[rules]]
id = "acme-live"
prefix = "acme_live_"
charset = "base62"
length = 36
checksum = "crc32-base62"
severity = "critical"
"""
ACME = compile_rule(RuleConfig(id="acme-live", prefix="acme_live_", charset="base62", length=36,
                               checksum="crc32-base62", severity="critical"))
REDACTED = re.compile(r"^(?P<prefix>.+?)(?P<shown>[^…]{0,4})…sha256:(?P<fp>[0-9a-f]{8})$")
_MARKER = re.compile(r"\{\{mint:([a-z0-9._-]+)\}\}")


def write_config(directory: Path, text: str = ACME_RULE, name: str = "leakpatrol.toml") -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def acme_token() -> str:
    return mint(ACME)


def builtin_token(rule_id: str) -> str:
    rule = find_rule(load_rules(None), rule_id)
    assert rule is not None, rule_id
    return mint(rule)


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> Result:
    """Run ``leakpatrol ARGV`` in-process (argparse usage errors exit via ``SystemExit``)."""
    capsys.readouterr()
    try:
        code = cli.main(list(argv))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


def run_subprocess(*argv: str, cwd: Path, stdin: bytes | None = None) -> Result:
    """Run ``python -m crawler ARGV`` as a real process (the environment is the test's, cleaned)."""
    proc = subprocess.run([sys.executable, "-m", "crawler", *argv], cwd=cwd, input=stdin,
                          capture_output=True, timeout=120, env=dict(os.environ, NO_COLOR="1"), check=False)
    return Result(proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8"))


@dataclass(frozen=True)
class Planted:
    path: Path
    line: int
    column: int
    rule: str
    token: str
    allowed: bool


def plant_examples(dest: Path) -> list[Planted]:
    """Copy ``tests/fixtures/examples`` to ``dest`` and replace each ``{{mint:RULE}}`` marker with a minted token."""
    shutil.copytree(EXAMPLES, dest)
    rules = {r.id: r for r in load_rules(None, extra=[RuleConfig(id="acme-live", prefix="acme_live_",
                                                                 charset="base62", length=36,
                                                                 checksum="crc32-base62")])}
    planted: list[Planted] = []
    for file in sorted(p for p in dest.rglob("*") if p.is_file() and p.name != "README.md"):
        lines = file.read_text(encoding="utf-8").split("\n")
        for i, line in enumerate(lines):
            while (m := _MARKER.search(line)) is not None:
                token = mint(rules[m.group(1)])
                planted.append(Planted(file, i + 1, m.start() + 1, m.group(1), token,
                                       "leakpatrol:allow" in line))
                line = line[: m.start()] + token + line[m.end():]
            lines[i] = line
        file.write_text("\n".join(lines), encoding="utf-8")
    return planted
