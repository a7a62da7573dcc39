"""``leakpatrol scan``: inputs, skips, exit codes, the three output formats, redaction, suppression.

Exit codes (DESIGN.md): 0 nothing found, 1 findings, 2 usage or config error.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.helpers import (
    ACME_RULE,
    EXAMPLES,
    REDACTED,
    Result,
    acme_token,
    builtin_token,
    plant_examples,
    run,
    run_subprocess,
    write_config,
)
from tests.cli.sarif import check_sarif

FORMATS = ["text", "json", "sarif"]


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder holding ``leakpatrol.toml`` with the ``acme-live`` rule."""
    monkeypatch.chdir(tmp_path)
    write_config(tmp_path)
    return tmp_path


def scan(capsys: pytest.CaptureFixture[str], *argv: str) -> Result:
    return run(capsys, "scan", *argv)


def findings(res: Result) -> list[dict[str, object]]:
    doc = res.json()
    assert set(doc) == {"version", "findings", "stats"}
    assert doc["version"] == 1
    items: list[dict[str, object]] = doc["findings"]
    return items


# -- the example tree ------------------------------------------------------------------------

def test_example_tree_reports_exactly_the_planted_tokens(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    planted = plant_examples(work / "tree")
    assert {p.rule for p in planted} >= {"acme-live", "github-pat-classic", "slack-bot-token"}
    res = scan(capsys, "tree", "--format", "json")
    assert res.code == 1, res.err
    got = {(f["path"], f["line"], f["column"], f["rule"], f["fingerprint"]) for f in findings(res)}
    want = {(str(p.path.relative_to(work)), p.line, p.column, p.rule, hashlib.sha256(p.token.encode()).hexdigest())
            for p in planted if not p.allowed}
    assert got == want
    assert any(p.allowed for p in planted), "the tree has an allow-listed token, and it was not reported"


def test_shipped_example_tree_is_clean(tmp_path: Path) -> None:
    res = run_subprocess("scan", str(EXAMPLES), cwd=tmp_path)
    assert res.code == 0, res.out + res.err
    assert "no findings" in res.out


# -- exit codes ------------------------------------------------------------------------------

def test_exit_0_when_clean_and_1_on_findings(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "clean.py").write_text("print('hello')\nacme_live_tooshort\n", encoding="utf-8")
    assert scan(capsys, "clean.py").code == 0
    (work / "leak.py").write_text(f"KEY = '{acme_token()}'\n", encoding="utf-8")
    assert scan(capsys, "clean.py", "leak.py").code == 1


def test_bad_checksum_is_not_a_finding(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    token = acme_token()
    broken = token[:-1] + ("A" if token[-1] != "A" else "B")
    (work / "f.txt").write_text(broken + "\n", encoding="utf-8")
    res = scan(capsys, "f.txt", "--format", "json")
    assert res.code == 0
    assert findings(res) == []


def test_exit_2_on_a_missing_path(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "real.py").write_text(f"{acme_token()}\n", encoding="utf-8")
    res = scan(capsys, "real.py", "nope/missing.py")
    assert res.code == 2
    assert "nope/missing.py" in res.err
    assert res.out == ""


def test_exit_2_on_a_bad_config(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_config(work, ACME_RULE + "colour = true\n", name="bad.toml")
    (work / "f.py").write_text(f"{acme_token()}\n", encoding="utf-8")
    res = scan(capsys, "f.py", "-c", "bad.toml")
    assert res.code == 2
    assert "bad.toml: rules[0].colour: unknown key" in res.err
    assert "Traceback" not in res.err


def test_exit_2_on_a_bad_rule_in_the_default_config(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_config(work, "[[rules]]\nid = 'acme-x'\nprefix = 'acme_x_'\ncharset = 'hex'\nlength = 20\n"
                       "checksum = 'crc32-base62'\n")
    (work / "f.py").write_text("nothing\n", encoding="utf-8")
    res = scan(capsys, "f.py")
    assert res.code == 2
    assert "leakpatrol.toml: rules[0]" in res.err


@pytest.mark.parametrize(("content", "needle"), [
    pytest.param(None, "baseline file not found", id="missing"),
    pytest.param("{not json", "not a leakpatrol baseline", id="not-json"),
    pytest.param('{"version": 1, "fingerprints": "abc"}', "not a leakpatrol baseline", id="wrong-shape"),
    pytest.param('["abc"]', "not a leakpatrol baseline", id="a-list"),
])
def test_exit_2_on_a_bad_baseline(work: Path, capsys: pytest.CaptureFixture[str], content: str | None,
                                  needle: str) -> None:
    if content is not None:
        (work / "baseline.json").write_text(content, encoding="utf-8")
    (work / "f.py").write_text(f"{acme_token()}\n", encoding="utf-8")
    res = scan(capsys, "f.py", "--baseline", "baseline.json")
    assert res.code == 2
    assert "baseline.json" in res.err and needle in res.err


def test_exit_2_when_stdin_is_combined_with_paths(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "f.py").write_text("x\n", encoding="utf-8")
    res = scan(capsys, "-", "f.py")
    assert res.code == 2
    assert "stdin" in res.err


def test_exit_2_on_a_usage_error(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    res = scan(capsys, ".", "--format", "xml")
    assert res.code == 2
    assert "invalid choice" in res.err


def test_exit_codes_in_a_real_process(tmp_path: Path) -> None:
    write_config(tmp_path)
    (tmp_path / "clean.txt").write_text("nothing here\n", encoding="utf-8")
    (tmp_path / "leak.txt").write_text(f"token={acme_token()}\n", encoding="utf-8")
    assert run_subprocess("scan", "clean.txt", cwd=tmp_path).code == 0
    assert run_subprocess("scan", "leak.txt", cwd=tmp_path).code == 1
    missing = run_subprocess("scan", "gone.txt", cwd=tmp_path)
    assert missing.code == 2
    assert "Traceback" not in missing.err


# -- stdin -----------------------------------------------------------------------------------

def test_stdin(tmp_path: Path) -> None:
    write_config(tmp_path)
    token = acme_token()
    res = run_subprocess("scan", "-", "--format", "json", cwd=tmp_path,
                         stdin=f"line one\r\nexport ACME={token}\r\n".encode())
    assert res.code == 1, res.err
    [finding] = findings(res)
    assert (finding["path"], finding["line"], finding["column"]) == ("-", 2, 13)
    assert finding["fingerprint"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in res.out + res.err
    clean = run_subprocess("scan", "-", cwd=tmp_path, stdin=b"nothing to see\n")
    assert clean.code == 0


def test_stdin_binary_input_does_not_crash(tmp_path: Path) -> None:
    write_config(tmp_path)
    token = acme_token()
    res = run_subprocess("scan", "-", "--format", "json", cwd=tmp_path,
                         stdin=b"\xff\xfe\x00garbage " + token.encode() + b" \x80\x81\n")
    assert res.code == 1, res.err
    assert [f["rule"] for f in findings(res)] == ["acme-live"]


# -- output formats --------------------------------------------------------------------------

def test_json_finding_shape(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    token = acme_token()
    (work / "src").mkdir()
    (work / "src" / "settings.py").write_text(f"# settings\n\nACME_KEY = \"{token}\"\n", encoding="utf-8")
    res = scan(capsys, "src/settings.py", "--format", "json")
    assert res.code == 1
    [f] = findings(res)
    assert {"rule", "fingerprint", "redacted", "path", "line", "column"} <= set(f)
    assert f["rule"] == "acme-live"
    assert f["fingerprint"] == hashlib.sha256(token.encode()).hexdigest()
    assert (f["path"], f["line"], f["column"]) == ("src/settings.py", 3, 13)
    m = REDACTED.match(str(f["redacted"]))
    assert m is not None, f["redacted"]
    assert m["prefix"] == "acme_live_"
    assert len(m["shown"]) <= 4 and token.startswith("acme_live_" + m["shown"])
    assert m["fp"] == hashlib.sha256(token.encode()).hexdigest()[:8]
    assert "token" not in f, "the plaintext is only there with --reveal"


def test_json_path_is_as_given(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "a.env").write_text(f"K={acme_token()}\n", encoding="utf-8")
    absolute = str(work / "a.env")
    res = scan(capsys, absolute, "./a.env", "--format", "json")
    assert [f["path"] for f in findings(res)] == [absolute, "./a.env"]


def test_sarif_is_structurally_valid_2_1_0(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tokens = [acme_token(), builtin_token("github-pat-classic"), acme_token()]
    (work / "my dir").mkdir()
    (work / "my dir" / "a b.yaml").write_text(f"acme: {tokens[0]}\ngithub: {tokens[1]}\n", encoding="utf-8")
    (work / "c.py").write_text(f"\n\n    x = '{tokens[2]}'\n", encoding="utf-8")
    res = scan(capsys, "my dir/a b.yaml", "c.py", "--format", "sarif")
    assert res.code == 1, res.err
    doc = json.loads(res.out)
    results = check_sarif(doc)
    assert [r["ruleId"] for r in results] == ["acme-live", "github-pat-classic", "acme-live"]
    assert sorted(r["id"] for r in doc["runs"][0]["tool"]["driver"]["rules"]) == ["acme-live", "github-pat-classic"]
    where = [(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
              r["locations"][0]["physicalLocation"]["region"]["startLine"],
              r["locations"][0]["physicalLocation"]["region"]["startColumn"]) for r in results]
    assert where == [("my%20dir/a%20b.yaml", 1, 7), ("my%20dir/a%20b.yaml", 2, 9), ("c.py", 3, 10)]
    for result, token in zip(results, tokens, strict=True):
        assert hashlib.sha256(token.encode()).hexdigest() in result["partialFingerprints"].values()


def test_sarif_with_no_findings(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "f.py").write_text("x = 1\n", encoding="utf-8")
    res = scan(capsys, "f.py", "--format", "sarif")
    assert res.code == 0
    assert check_sarif(json.loads(res.out)) == []


def test_text_format(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    token = acme_token()
    (work / "a.py").write_text(f"k = '{token}'\n", encoding="utf-8")
    res = scan(capsys, "a.py")
    assert res.code == 1
    first, last = res.out.strip().splitlines()
    assert first.split() == ["a.py:1:6", "CRITICAL", "acme-live", first.split()[-1]]
    assert REDACTED.match(first.split()[-1])
    assert last == "1 finding"
    assert "\x1b[" not in res.out, "no colour when stdout is not a terminal"


def test_colour_on_a_terminal_unless_no_color(work: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    (work / "a.py").write_text(f"k = '{acme_token()}'\n", encoding="utf-8")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert "\x1b[" in scan(capsys, "a.py").out
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in scan(capsys, "a.py").out


def test_progress_goes_to_the_terminal_not_into_the_report(tmp_path: Path) -> None:
    pty = pytest.importorskip("pty")
    write_config(tmp_path)
    for i in range(30):
        (tmp_path / f"f{i}.txt").write_text("nothing\n", encoding="utf-8")
    (tmp_path / "leak.txt").write_text(f"{acme_token()}\n", encoding="utf-8")
    controller, terminal = pty.openpty()
    try:
        proc = subprocess.run([sys.executable, "-m", "crawler", "scan", "."], cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=terminal, timeout=120, check=False)
        os.set_blocking(controller, False)
        shown = os.read(controller, 1 << 16)
    finally:
        os.close(controller)
        os.close(terminal)
    assert proc.returncode == 1
    assert proc.stdout.decode().startswith("leak.txt:1:1  CRITICAL"), "stdout holds the report only"
    assert b"scanning" in shown


def test_output_file(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "a.py").write_text(f"k = '{acme_token()}'\n", encoding="utf-8")
    res = scan(capsys, "a.py", "--format", "json", "-o", "report.json")
    assert res.code == 1
    assert res.out == ""
    assert json.loads((work / "report.json").read_text(encoding="utf-8"))["findings"][0]["path"] == "a.py"


@pytest.mark.parametrize("flag", ["-o", "--write-baseline"])
def test_unwritable_output_is_exit_2(work: Path, capsys: pytest.CaptureFixture[str], flag: str) -> None:
    (work / "a.py").write_text(f"k = '{acme_token()}'\n", encoding="utf-8")
    res = scan(capsys, "a.py", flag, "missing-dir/out.json")
    assert res.code == 2
    assert res.err.strip() == "leakpatrol: missing-dir/out.json: No such file or directory"


# -- redaction -------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_no_plaintext_token_without_reveal(work: Path, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    tokens = [acme_token(), builtin_token("github-pat-classic"), builtin_token("slack-bot-token")]
    (work / "leaks.txt").write_text("\n".join(f"secret{i}={t}" for i, t in enumerate(tokens)) + "\n",
                                    encoding="utf-8")
    res = run(capsys, "-v", "scan", "leaks.txt", "--format", fmt)
    assert res.code == 1
    for token in tokens:
        body = token[-12:]
        assert token not in res.out and token not in res.err
        assert body not in res.out and body not in res.err, "not even the tail of the token"


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_plaintext_token_in_a_real_process(tmp_path: Path, fmt: str) -> None:
    write_config(tmp_path)
    token = acme_token()
    (tmp_path / "leak.env").write_text(f"ACME={token}\n", encoding="utf-8")
    res = run_subprocess("--verbose", "scan", "leak.env", "--format", fmt, cwd=tmp_path)
    assert res.code == 1
    assert token not in res.out and token not in res.err
    assert hashlib.sha256(token.encode()).hexdigest()[:8] in res.out


def test_scan_logs_only_when_a_record_is_due_and_then_scrubbed(tmp_path: Path) -> None:
    """``scan`` sets its logging up on the first record due (:mod:`crawler.kernel.lazylog`); that record
    is scrubbed all the same, with the config's organisation rules."""
    write_config(tmp_path)
    token = acme_token()
    (tmp_path / f"dump-{token}.bin").write_bytes(b"\0" * 4096)  # skipped as binary: its name is logged
    quiet = run_subprocess("scan", ".", cwd=tmp_path)
    assert quiet.code == 0 and "skipped 1: 1 binary" in quiet.err and "dump-" not in quiet.err
    loud = run_subprocess("--verbose", "scan", ".", cwd=tmp_path)
    assert loud.code == 0
    assert re.search(r"DEBUG +crawler\.cli\.local: skipped dump-acme_live_\w{0,4}…sha256:[0-9a-f]{8}\.bin: binary",
                     loud.err), loud.err
    assert token not in loud.err and token[-12:] not in loud.err


@pytest.mark.parametrize("fmt", FORMATS)
def test_reveal_shows_the_token(work: Path, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    token = acme_token()
    (work / "leak.env").write_text(f"ACME={token}\n", encoding="utf-8")
    res = scan(capsys, "leak.env", "--format", fmt, "--reveal")
    assert res.code == 1
    assert token in res.out
    if fmt == "json":
        assert findings(res)[0]["token"] == token


# -- suppression: baseline and inline allow --------------------------------------------------

def test_baseline_round_trip(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = [acme_token(), builtin_token("github-pat-classic")]
    (work / "legacy.cfg").write_text(f"a={old[0]}\nb={old[1]}\n", encoding="utf-8")
    res = scan(capsys, ".", "--write-baseline", "baseline.json")
    assert res.code == 0
    doc = json.loads((work / "baseline.json").read_text(encoding="utf-8"))
    assert doc == {"version": 1, "fingerprints": sorted(hashlib.sha256(t.encode()).hexdigest() for t in old)}
    assert all(t not in (work / "baseline.json").read_text(encoding="utf-8") for t in old)

    res = scan(capsys, "legacy.cfg", "--baseline", "baseline.json", "--format", "json")
    assert res.code == 0
    assert findings(res) == []

    new = acme_token()
    (work / "new.cfg").write_text(f"c={new}\n", encoding="utf-8")
    res = scan(capsys, "legacy.cfg", "new.cfg", "--baseline", "baseline.json", "--format", "json")
    assert res.code == 1
    assert [f["fingerprint"] for f in findings(res)] == [hashlib.sha256(new.encode()).hexdigest()]


def test_updating_a_baseline_keeps_the_known_findings(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old, new = acme_token(), acme_token()
    (work / "a.txt").write_text(f"{old}\n", encoding="utf-8")
    assert scan(capsys, "a.txt", "--write-baseline", "b.json").code == 0
    (work / "b.txt").write_text(f"{new}\n", encoding="utf-8")
    assert scan(capsys, "a.txt", "b.txt", "--baseline", "b.json", "--write-baseline", "b.json").code == 0
    assert json.loads((work / "b.json").read_text(encoding="utf-8"))["fingerprints"] == sorted(
        hashlib.sha256(t.encode()).hexdigest() for t in (old, new))
    assert scan(capsys, "a.txt", "b.txt", "--baseline", "b.json").code == 0


def test_baseline_suppresses_the_same_token_anywhere(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    token = acme_token()
    (work / "a.txt").write_text(token, encoding="utf-8")
    assert scan(capsys, "a.txt", "--write-baseline", "b.json").code == 0
    (work / "moved.txt").write_text(f"\n\n  {token}\n", encoding="utf-8")
    assert scan(capsys, "moved.txt", "--baseline", "b.json").code == 0


def test_inline_allow_comment(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    allowed, reported = acme_token(), acme_token()
    (work / "t.py").write_text(f"FIXTURE = '{allowed}'  # leakpatrol:allow\nREAL = '{reported}'\n"
                               f"OTHER = '{allowed}'\n", encoding="utf-8")
    res = scan(capsys, "t.py", "--format", "json")
    assert res.code == 1
    assert [(f["line"], f["fingerprint"]) for f in findings(res)] == [
        (2, hashlib.sha256(reported.encode()).hexdigest()), (3, hashlib.sha256(allowed.encode()).hexdigest())]


# -- what is read and what is skipped --------------------------------------------------------

def test_skips_git_directory_and_binary_files_and_counts_them(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``max_document_bytes`` caps crawled documents, not local files: a big file is scanned whole;
    ``--max-file-size`` skips bigger files, and says so."""
    write_config(work, ACME_RULE + "[scanner]\nmax_document_bytes = 2048\n")
    tree = work / "tree"
    (tree / ".git" / "objects").mkdir(parents=True)
    (tree / "sub" / ".git").mkdir(parents=True)
    (tree / ".git" / "COMMIT_EDITMSG").write_text(f"oops {acme_token()}\n", encoding="utf-8")
    (tree / ".git" / "objects" / "pack.txt").write_text(acme_token(), encoding="utf-8")
    (tree / "sub" / ".git" / "config").write_text(acme_token(), encoding="utf-8")
    (tree / "image.bin").write_bytes(b"\x89PNG\x00\x00" + acme_token().encode() + b"\x00")
    big, small = acme_token(), acme_token()
    (tree / "huge.log").write_text("x" * 3000 + "\n" + big + "\n", encoding="utf-8")
    (tree / "sub" / "small.log").write_text("x" * 1500 + "\n" + small + "\n", encoding="utf-8")
    res = scan(capsys, "tree", "--format", "json")
    assert res.code == 1, res.err
    assert [(f["path"], f["fingerprint"]) for f in findings(res)] == [
        ("tree/huge.log", hashlib.sha256(big.encode()).hexdigest()),
        ("tree/sub/small.log", hashlib.sha256(small.encode()).hexdigest())]
    stats = res.json()["stats"]
    assert (stats["files"], stats["skipped_by_reason"]) == (2, {"binary": 1})
    assert stats["skipped_files"] == [{"path": "tree/image.bin", "reason": "binary"}]
    assert "skipped 1: 1 binary" in res.err

    res = scan(capsys, "tree", "--format", "json", "--max-file-size", "2k")
    assert [f["path"] for f in findings(res)] == ["tree/sub/small.log"]
    assert res.json()["stats"]["skipped_by_reason"] == {"binary": 1, "larger than --max-file-size": 1}
    assert "1 larger than --max-file-size" in res.err


def test_an_explicit_binary_file_is_skipped(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "blob").write_bytes(b"\x00" + acme_token().encode())
    assert scan(capsys, "blob").code == 0


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, timeout=60)


def test_honours_gitignore_in_a_work_tree(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = work / "repo"
    (repo / "build").mkdir(parents=True)
    _git(repo, "init", "-q")
    (repo / ".gitignore").write_text("secrets.env\nbuild/\n", encoding="utf-8")
    tracked, untracked = acme_token(), acme_token()
    (repo / "app.py").write_text(f"KEY = '{tracked}'\n", encoding="utf-8")
    (repo / "secrets.env").write_text(f"KEY={acme_token()}\n", encoding="utf-8")
    (repo / "build" / "bundle.js").write_text(f"k='{acme_token()}'\n", encoding="utf-8")
    _git(repo, "add", ".gitignore", "app.py")
    (repo / "new.py").write_text(f"KEY = '{untracked}'\n", encoding="utf-8")
    res = scan(capsys, "repo", "--format", "json")
    assert res.code == 1, res.err
    assert sorted((f["path"], f["fingerprint"]) for f in findings(res)) == [
        ("repo/app.py", hashlib.sha256(tracked.encode()).hexdigest()),
        ("repo/new.py", hashlib.sha256(untracked.encode()).hexdigest()),
    ]
    # Named explicitly (as pre-commit does), an ignored file is still scanned.
    assert scan(capsys, "repo/secrets.env").code == 1


def test_outside_a_work_tree_every_file_is_read(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plain = work / "plain"
    plain.mkdir()
    (plain / ".gitignore").write_text("secrets.env\n", encoding="utf-8")
    (plain / "secrets.env").write_text(f"KEY={acme_token()}\n", encoding="utf-8")
    res = scan(capsys, "plain", "--format", "json")
    assert [f["path"] for f in findings(res)] == ["plain/secrets.env"]


def test_a_directory_with_many_files(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tree = work / "many"
    planted = {}
    for i in range(400):
        folder = tree / f"pkg{i % 20:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"mod{i:03d}.py"
        if i % 97 == 5:
            token = acme_token()
            planted[str(path.relative_to(work))] = hashlib.sha256(token.encode()).hexdigest()
            path.write_text(f"def f():\n    return '{token}'\n", encoding="utf-8")
        else:
            path.write_text(f"def f{i}():\n    return {i}\n" * 20, encoding="utf-8")
    big = tree / "zz_big.txt"  # crosses the 1 MiB batch boundary
    token = acme_token()
    big.write_bytes(b"filler line\n" * 100_000 + token.encode() + b"\n")
    planted[str(big.relative_to(work))] = hashlib.sha256(token.encode()).hexdigest()
    res = scan(capsys, "many", "--format", "json")
    assert res.code == 1
    got = {str(f["path"]): f["fingerprint"] for f in findings(res)}
    assert got == planted
    assert next(f for f in findings(res) if f["path"] == "many/zz_big.txt")["line"] == 100_001



def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """``leakpatrol … | head -1``: when the reader leaves early there is no "Broken pipe" message or
    traceback, and the exit status is 141 (128 + SIGPIPE) as a shell would report."""
    proc = subprocess.Popen([sys.executable, "-m", "crawler", "token", "mint", "github-pat-classic", "-n", "200000"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().startswith(b"ghp_")
    proc.stdout.close()  # the reader goes away long before 200000 tokens are printed
    err = proc.stderr.read().decode()
    assert proc.wait(60) == 141
    assert "Broken pipe" not in err and "Traceback" not in err and "Exception ignored" not in err
