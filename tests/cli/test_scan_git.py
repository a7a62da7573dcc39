"""``scan --staged`` (exactly what the next commit holds) and ``scan --git [RANGE]`` (history patches,
removed lines included), through a real git in a temporary repository."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from tests.cli.helpers import acme_token, run, write_config


def sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def git(repo: Path, *args: str, date: str | None = None) -> str:
    env = {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date} if date else {}
    import os

    proc = subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid",
                           "-c", "commit.gpgsign=false", *args], check=True, capture_output=True, text=True,
                          timeout=60, env={**os.environ, **env})
    return proc.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write_config(tmp_path)
    r = tmp_path / "repo"
    r.mkdir()
    git(r, "init", "-q")
    monkeypatch.chdir(r)
    monkeypatch.setenv("LEAKPATROL_CONFIG", str(tmp_path / "leakpatrol.toml"))
    return r


def test_staged_scans_the_index_not_the_work_tree(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    staged_token, unstaged_token = acme_token(), acme_token()
    (repo / "app.py").write_text(f"# app\nKEY = '{staged_token}'\n", encoding="utf-8")
    git(repo, "add", "app.py")
    (repo / "app.py").write_text("# app\nKEY = os.environ['KEY']\n", encoding="utf-8")  # fixed, not staged
    (repo / "notes.txt").write_text(f"{unstaged_token}\n", encoding="utf-8")  # never staged
    res = run(capsys, "scan", "--staged", "--format", "json")
    assert res.code == 1, res.err
    assert [(f["path"], f["line"], f["fingerprint"]) for f in res.json()["findings"]] == [
        ("app.py", 2, sha(staged_token))]
    git(repo, "add", "app.py")  # the fix staged: the commit is clean
    assert run(capsys, "scan", "--staged").code == 0


def test_staged_with_nothing_staged_says_so(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    res = run(capsys, "scan", "--staged")
    assert res.code == 0
    assert "nothing was read" in res.err


def test_git_history_reports_added_and_removed_lines(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    token = acme_token()
    (repo / "conf.env").write_text("A=1\nB=2\n", encoding="utf-8")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "one", date="2026-01-02T03:04:05+00:00")
    (repo / "conf.env").write_text(f"A=1\nKEY={token}\nB=2\n", encoding="utf-8")
    git(repo, "commit", "-qam", "leak", date="2026-02-03T04:05:06+00:00")
    leak = git(repo, "rev-parse", "HEAD")
    (repo / "conf.env").write_text("A=1\nB=2\nC=3\n", encoding="utf-8")
    git(repo, "commit", "-qam", "remove", date="2026-03-04T05:06:07+00:00")
    removal = git(repo, "rev-parse", "HEAD")
    assert run(capsys, "scan", ".").code == 0, "the work tree is clean"

    res = run(capsys, "scan", "--git", "--format", "json")
    assert res.code == 1, res.err
    got = [(f["commit"], f["date"], f["path"], f["line"], f["column"], f["fingerprint"])
           for f in res.json()["findings"]]
    assert sorted(got) == sorted([
        (leak, "2026-02-03T04:05:06+00:00", "conf.env", 2, 5, sha(token)),       # added at line 2
        (removal, "2026-03-04T05:06:07+00:00", "conf.env", 2, 5, sha(token)),    # removed from line 2
    ])
    assert token not in res.out + res.err

    only_last = run(capsys, "scan", "--git", f"{leak}..HEAD", "--format", "json")
    assert [f["commit"] for f in only_last.json()["findings"]] == [removal]
    text = run(capsys, "scan", "--git")
    assert f"commit {leak[:12]}" in text.out


def test_git_errors_are_usage_errors(repo: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    res = run(capsys, "scan", "--git", "no-such-rev..HEAD")
    assert res.code == 2
    assert "git:" in res.err and "Traceback" not in res.err
    outside = tmp_path / "plain"
    outside.mkdir()
    res = run(capsys, "scan", "--staged", str(outside))
    assert res.code == 2 and "git:" in res.err
