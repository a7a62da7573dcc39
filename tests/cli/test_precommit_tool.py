"""The real ``pre-commit`` tool runs the repository's ``.pre-commit-hooks.yaml`` (``pre-commit
try-repo``) in a temporary git repository: a staged token fails the commit, a clean change passes.

Offline: pre-commit builds the hook's environment from this checkout with ``--no-index --no-deps``
(``PIP_*`` variables) and the hook finds its dependencies through ``PYTHONPATH`` (this test
environment's site-packages), so nothing is downloaded.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.cli.helpers import acme_token, write_config

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONHOME")}
    return {**env, "PRE_COMMIT_HOME": str(home), "PIP_NO_INDEX": "1", "PIP_NO_DEPS": "1",
            "PIP_NO_BUILD_ISOLATION": "0", "PYTHONPATH": sysconfig.get_path("purelib"), "NO_COLOR": "1",
            "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.invalid"}


def _git(repo: Path, env: dict[str, str], *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, timeout=60, env=env)


def _try_repo(repo: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "leakpatrol", "--verbose"],
                          cwd=repo, capture_output=True, text=True, timeout=600, env=env, check=False)


def test_pre_commit_try_repo_fails_on_a_staged_token_and_passes_without(tmp_path: Path) -> None:
    env = _env(tmp_path / "pre-commit-home")
    repo = tmp_path / "project"
    repo.mkdir()
    _git(repo, env, "init", "-q")
    write_config(repo)
    (repo / "app.py").write_text("print('hello')\n", encoding="utf-8")
    _git(repo, env, "add", ".")
    clean = _try_repo(repo, env)
    assert clean.returncode == 0, clean.stdout[-3000:] + clean.stderr[-3000:]
    assert "leakpatrol" in clean.stdout and "Passed" in clean.stdout

    token = acme_token()
    (repo / "settings.py").write_text(f"KEY = '{token}'\n", encoding="utf-8")
    _git(repo, env, "add", "settings.py")
    leak = _try_repo(repo, env)
    assert leak.returncode == 1, leak.stdout[-3000:] + leak.stderr[-3000:]
    assert "Failed" in leak.stdout and "settings.py:1:8" in leak.stdout
    assert token not in leak.stdout + leak.stderr
