"""``.pre-commit-hooks.yaml``: a ``leakpatrol`` hook that scans the staged files pre-commit passes."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.cli.helpers import acme_token, write_config

HOOKS = Path(__file__).resolve().parents[2] / ".pre-commit-hooks.yaml"


def _simple_yaml_list(text: str) -> list[dict[str, Any]]:
    """Enough YAML for this file when PyYAML is not installed: a list of flat ``key: value`` maps."""
    hooks: list[dict[str, Any]] = []
    for raw in text.splitlines():
        line = raw.split(" #")[0].rstrip()
        if not line or line.lstrip().startswith("#"):
            continue
        if line.startswith("- "):
            hooks.append({})
            line = line[2:]
        key, _, value = line.strip().partition(":")
        value = value.strip()
        hooks[-1][key] = {"true": True, "false": False}.get(value, value.strip("'\""))
    return hooks


def load_hooks() -> list[dict[str, Any]]:
    text = HOOKS.read_text(encoding="utf-8")
    try:
        import yaml
    except ImportError:
        return _simple_yaml_list(text)
    hooks: list[dict[str, Any]] = yaml.safe_load(text)
    return hooks


def hook() -> dict[str, Any]:
    hooks = load_hooks()
    assert isinstance(hooks, list)
    return next(h for h in hooks if h["id"] == "leakpatrol")


def test_hook_definition() -> None:
    h = hook()
    assert h["entry"] == "leakpatrol scan"
    assert h["language"] == "python"
    assert h["pass_filenames"] is True
    assert h["name"]


def test_fallback_parser_reads_the_same_hook() -> None:
    [simple] = _simple_yaml_list(HOOKS.read_text(encoding="utf-8"))
    keys = ("id", "entry", "language", "pass_filenames")
    assert [simple[k] for k in keys] == [hook()[k] for k in keys] == ["leakpatrol", "leakpatrol scan", "python", True]


def test_entry_fails_a_commit_that_stages_a_token(tmp_path: Path) -> None:
    """Run the hook's entry the way pre-commit does: entry + args + the staged file names."""
    script = Path(sys.executable).parent / "leakpatrol"
    if not script.exists():
        pytest.skip("the leakpatrol console script is not installed in this environment")
    write_config(tmp_path)
    (tmp_path / "clean.py").write_text("print('ok')\n", encoding="utf-8")
    token = acme_token()
    (tmp_path / "settings.py").write_text(f"KEY = '{token}'\n", encoding="utf-8")
    argv = [str(script), *shlex.split(hook()["entry"])[1:]]
    clean = subprocess.run([*argv, "clean.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                           check=False)
    assert clean.returncode == 0, clean.stderr
    leak = subprocess.run([*argv, "clean.py", "settings.py"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, check=False)
    assert leak.returncode == 1, leak.stderr
    assert "settings.py:1:8" in leak.stdout
    assert token not in leak.stdout + leak.stderr
