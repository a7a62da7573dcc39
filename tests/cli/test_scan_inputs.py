"""``leakpatrol scan`` reads what it is given, whole, and counts what it does not read.

Big files in windows, special files, links, encodings, undecodable names, archives, ``--no-ignore``,
``-j``, and the UTF-16 columns of SARIF.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from crawler.detect.scanner import HAVE_HYPERSCAN, Scanner
from crawler.detect.windows import scan_stream
from tests.cli.helpers import ACME, Result, acme_token, run, run_subprocess, write_config
from tests.cli.sarif import check_sarif


def sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    write_config(tmp_path)
    return tmp_path


Found = list[dict[str, object]]


def scan_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[Result, Found, dict[str, object]]:
    res = run(capsys, "scan", *argv, "--format", "json")
    doc = res.json()
    return res, doc["findings"], doc["stats"]


# -- windows ---------------------------------------------------------------------------------

@pytest.mark.parametrize("hs", [False, True] if HAVE_HYPERSCAN else [False])
def test_a_token_across_a_window_edge_is_found_exactly_once(hs: bool) -> None:
    scanner = Scanner([ACME], use_hyperscan=hs)
    token = acme_token().encode()
    window = 64
    for at in range(window - len(token) - 2, window + 3):  # every place around the first edge
        data = b"x" * (at - 1) + b"\n" + token + b"\n" + b"y" * 100 + b" " + token
        chunks = [data[i:i + 7] for i in range(0, len(data), 7)]  # chunk sizes unrelated to the window
        found = list(scan_stream(scanner, chunks, window=window))
        assert [(f.match.start, f.match.line, f.match.column) for f in found] == [
            (at, 2, 1), (len(data) - len(token), 3, 102)], at


def test_a_word_character_before_the_edge_still_blocks_a_match() -> None:
    scanner = Scanner([ACME], use_hyperscan=False)
    token = acme_token().encode()
    data = b"x" * 63 + token  # "x" right before the prefix: not a token, whichever window sees it
    assert list(scan_stream(scanner, [data], window=64)) == []


def test_a_file_bigger_than_a_window_is_scanned_whole(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tokens = [acme_token() for _ in range(3)]
    line = b"filler text of a log line, nothing secret here at all\n"
    n = (20 << 20) // len(line)  # 20 MiB: more than two 8 MiB windows
    with open(work / "big.log", "wb") as fh:
        for i, token in enumerate(tokens):
            fh.write(line * (n // 3))
            fh.write(f"{i} {token}\n".encode())
    res, found, stats = scan_json(capsys, "big.log")
    assert res.code == 1
    assert [(f["fingerprint"], f["line"], f["column"]) for f in found] == [
        (sha(t), (n // 3) * (i + 1) + i + 1, 3) for i, t in enumerate(tokens)]
    assert stats["bytes"] == (work / "big.log").stat().st_size


# -- special files, links, names, encodings --------------------------------------------------

def test_a_fifo_is_counted_never_opened(tmp_path: Path) -> None:
    write_config(tmp_path)
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "leak.txt").write_text(acme_token() + "\n", encoding="utf-8")
    res = run_subprocess("scan", ".", "--format", "json", cwd=tmp_path)  # a hang would time out
    assert res.code == 1, res.err
    assert res.json()["stats"]["skipped_files"] == [{"path": "pipe", "reason": "special file"}]
    named = run_subprocess("scan", "pipe", cwd=tmp_path)
    assert named.code == 0 and "1 special file" in named.err


def test_links_out_of_the_root_and_loops(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outside = work / "outside"
    outside.mkdir()
    token = acme_token()
    (outside / "secret.env").write_text(token + "\n", encoding="utf-8")
    root = work / "root"
    root.mkdir()
    (root / "to-secret").symlink_to(outside / "secret.env")
    (root / "to-dir").symlink_to(outside)
    (root / "loop").symlink_to(root / "loop")
    res, found, stats = scan_json(capsys, "root")
    assert res.code == 0 and found == []
    assert stats["skipped_by_reason"] == {"symlink outside the root": 2, "symlink loop": 1}
    res, found, _ = scan_json(capsys, "root", "--follow-symlinks")
    assert res.code == 1
    assert {f["path"] for f in found} == {"root/to-secret", "root/to-dir/secret.env"}
    assert scan_json(capsys, "root/to-secret")[0].code == 1, "a link named on the command line is read"


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_undecodable_file_names_in_every_format(tmp_path: Path, fmt: str) -> None:
    write_config(tmp_path)
    name = b"caf\xe9-\xff.env"  # Latin-1, not UTF-8
    (tmp_path / os.fsdecode(name)).write_text(acme_token() + "\n", encoding="utf-8")
    os.mkfifo(tmp_path / os.fsdecode(b"fifo-\xfe"))
    res = run_subprocess("scan", ".", "--format", fmt, cwd=tmp_path)
    assert res.code == 1, res.err
    assert "Traceback" not in res.err
    if fmt == "json":
        assert res.json()["findings"][0]["path"] == "caf\\xe9-\\xff.env"
        assert res.json()["stats"]["skipped_files"][0]["path"] == "fifo-\\xfe"
    elif fmt == "sarif":
        doc = json.loads(res.out)
        [result] = check_sarif(doc)
        assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "caf%E9-%FF.env"
        [note] = doc["runs"][0]["invocations"][0]["toolExecutionNotifications"]
        assert note["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "fifo-%FE"
        assert "fifo-\\xfe" in note["message"]["text"]
    else:
        assert res.out.startswith("caf\\xe9-\\xff.env:1:1")
    assert "fifo-\\xfe" in json.dumps(res.err) or "1 special file" in res.err


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32", "utf-32-le"])
def test_utf16_and_utf32_with_a_bom_are_decoded(work: Path, capsys: pytest.CaptureFixture[str],
                                                 encoding: str) -> None:
    token = acme_token()
    text = f"first line é\nsecond: {token}\n"
    bom = {"utf-16-be": b"\xfe\xff", "utf-32-le": b"\xff\xfe\x00\x00"}.get(encoding, b"")
    (work / "w.txt").write_bytes(bom + text.encode(encoding))
    res, found, stats = scan_json(capsys, "w.txt")
    assert res.code == 1, res.err
    assert [(f["fingerprint"], f["line"], f["column"]) for f in found] == [(sha(token), 2, 9)]
    assert stats["skipped"] == 0


def test_one_early_nul_byte_does_not_make_a_text_file_binary(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    token = acme_token()
    (work / "t.txt").write_bytes(b"header\x00\n" + b"ordinary text line\n" * 50 + token.encode() + b"\n")
    res, found, _ = scan_json(capsys, "t.txt")
    assert res.code == 1
    assert [f["fingerprint"] for f in found] == [sha(token)]


def test_sarif_columns_are_utf16_code_units(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    token = acme_token()
    (work / "u.py").write_text(f"k = 'é😀' + '{token}'\n", encoding="utf-8")
    doc = json.loads(run(capsys, "scan", "u.py", "--format", "sarif").out)
    [result] = check_sarif(doc)
    assert doc["runs"][0]["columnKind"] == "utf16CodeUnits"
    # "k = 'é😀' + '": 13 UTF-16 units (😀 is 2), 16 bytes in UTF-8
    assert result["locations"][0]["physicalLocation"]["region"]["startColumn"] == 14
    assert scan_json(capsys, "u.py")[1][0]["column"] == 17


# -- what is read: explicit paths, --no-ignore, nothing read ----------------------------------

def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
                   check=True, capture_output=True, timeout=60)


def test_ignored_folder_named_explicitly_and_no_ignore(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = work / "repo"
    (repo / "dist").mkdir(parents=True)
    _git(repo, "init", "-q")
    (repo / ".gitignore").write_text("dist/\n", encoding="utf-8")
    token = acme_token()
    (repo / "dist" / "bundle.js").write_text(f"k='{token}'\n", encoding="utf-8")
    res, found, _ = scan_json(capsys, "repo")
    assert res.code == 0 and found == []
    res, found, _ = scan_json(capsys, "repo/dist")
    assert [f["path"] for f in found] == ["repo/dist/bundle.js"], "a folder named explicitly is read"
    res, found, _ = scan_json(capsys, "repo", "--no-ignore")
    assert [f["path"] for f in found] == ["repo/dist/bundle.js"]


def test_a_scan_that_read_nothing_says_so(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "empty").mkdir()
    res = run(capsys, "scan", "empty")
    assert res.code == 0
    assert "scanned 0 files" in res.err and "nothing was read" in res.err


# -- archives --------------------------------------------------------------------------------

def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_archives_are_scanned_inside(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    t = [acme_token() for _ in range(5)]
    (work / "a.zip").write_bytes(_zip({"dir/conf.env": f"\n{t[0]}\n".encode(), "img.png": b"\x89PNG\x00\x00\x00"}))
    (work / "pkg.whl").write_bytes(_zip({"pkg/settings.py": f"K = '{t[1]}'\n".encode()}))
    (work / "src.tar.gz").write_bytes(_tar_gz({"src/app.py": f"x = '{t[2]}'\n".encode()}))
    (work / "dump.sql.gz").write_bytes(gzip.compress(f"insert '{t[3]}';\n".encode()))
    (work / "outer.zip").write_bytes(_zip({"inner.zip": _zip({"deep.txt": t[4].encode()})}))
    res, found, stats = scan_json(capsys, ".")
    assert res.code == 1, res.err
    got = {(f["path"], f["line"], f["fingerprint"]) for f in found}
    assert got == {("a.zip!dir/conf.env", 2, sha(t[0])), ("pkg.whl!pkg/settings.py", 1, sha(t[1])),
                   ("src.tar.gz!src/app.py", 1, sha(t[2])), ("dump.sql.gz!dump.sql", 1, sha(t[3])),
                   ("outer.zip!inner.zip!deep.txt", 1, sha(t[4]))}
    assert stats["skipped_files"] == [{"path": "a.zip!img.png", "reason": "binary"}]
    res, found, stats = scan_json(capsys, "outer.zip", "--max-archive-depth", "1")
    assert found == []
    assert stats["skipped_files"] == [{"path": "outer.zip!inner.zip", "reason": "archive nested too deep"}]


def test_a_zip_bomb_is_skipped_not_expanded(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "bomb.zip").write_bytes(_zip({f"zeros{i}": b"\0" * (4 << 20) for i in range(4)}))
    assert (work / "bomb.zip").stat().st_size < 200_000
    res, found, stats = scan_json(capsys, "bomb.zip", "--max-archive-bytes", "8M")
    assert res.code == 0 and found == []
    assert stats["skipped_files"] == [{"path": "bomb.zip", "reason": "archive over the decompressed-size cap"}]
    assert "1 archive over the decompressed-size cap" in res.err
    # A stream that turns out bigger than the cap while it is read is cut there, and counted too.
    (work / "big.gz").write_bytes(gzip.compress(b"\0" * (12 << 20)))
    res, _, stats = scan_json(capsys, "big.gz", "--max-archive-bytes", "8M")
    assert stats["skipped_by_reason"] == {"archive over the decompressed-size cap": 1}


def test_a_big_member_cut_at_the_cap_is_scanned_up_to_it_and_counted(work: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    early, late = acme_token(), acme_token()
    line = b"an ordinary log line that compresses well\n"
    text = early.encode() + b"\n" + line * ((12 << 20) // len(line)) + late.encode() + b"\n"  # > one window
    (work / "app.log.gz").write_bytes(gzip.compress(text))
    res, found, stats = scan_json(capsys, "app.log.gz", "--max-archive-bytes", "10M")
    assert res.code == 1, res.err
    assert [f["fingerprint"] for f in found] == [sha(early)]
    assert stats["skipped_files"] == [
        {"path": "app.log.gz!app.log", "reason": "archive over the decompressed-size cap"}]
    res, found, _ = scan_json(capsys, "app.log.gz")
    assert [f["fingerprint"] for f in found] == [sha(early), sha(late)], "within the default cap: all of it"


def test_a_damaged_archive_is_counted(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "broken.zip").write_bytes(_zip({"a.txt": b"hello"})[:40])
    res, _, stats = scan_json(capsys, "broken.zip")
    assert res.code == 0
    assert stats["skipped_by_reason"] == {"damaged archive": 1}


# -- parallel --------------------------------------------------------------------------------

def _tree(root: Path, files: int = 600, filler_lines: int = 600) -> list[str]:
    """``files`` Python files of about ``filler_lines * 24`` bytes in 7 folders, a token in every 50th."""
    planted = []
    filler = ("def f():\n    return 1\n" * filler_lines).encode()
    for i in range(files):
        path = root / f"p{i % 7}" / f"m{i}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        if i % 50 == 3:
            token = acme_token()
            planted.append(token)
            path.write_bytes(filler + f"K = '{token}'\n".encode())
        else:
            path.write_bytes(filler)
    return planted


def _same_with_two(capsys: pytest.CaptureFixture[str], planted: list[str], tree: Path) -> None:
    one = scan_json(capsys, "tree", "-j", "1")
    two = scan_json(capsys, "tree", "-j", "2")
    assert one[0].code == two[0].code == 1
    assert one[1] == two[1]  # the same findings in the same order
    assert sorted(f["fingerprint"] for f in two[1]) == sorted(sha(t) for t in planted)
    assert (two[2]["files"], two[2]["bytes"]) == (one[2]["files"], one[2]["bytes"]) == (
        sum(1 for _ in tree.rglob("*.py")), sum(p.stat().st_size for p in tree.rglob("*.py")))


@pytest.fixture
def forks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many parts each call of ``run_forked`` was given (a parallel scan really took place)."""
    from crawler.cli import scanpool

    calls: list[int] = []
    real = scanpool.run_forked

    def counted(worker: object, parts: list[object], *rest: object) -> None:
        calls.append(len(parts))
        real(worker, parts, *rest)  # type: ignore[arg-type]

    monkeypatch.setattr(scanpool, "run_forked", counted)
    return calls


def test_parallel_scan_gives_the_same_findings(work: Path, capsys: pytest.CaptureFixture[str],
                                               forks: list[int]) -> None:
    planted = _tree(work / "tree")  # 600 files: each process stats its own
    _same_with_two(capsys, planted, work / "tree")
    assert len(forks) == 1 and forks[0] >= 2


def test_a_few_big_files_are_shared_too(work: Path, capsys: pytest.CaptureFixture[str], forks: list[int]) -> None:
    planted = _tree(work / "tree", files=6, filler_lines=60_000)  # ~1.4 MB each: judged first, cut by size
    _same_with_two(capsys, planted, work / "tree")
    assert len(forks) == 1 and forks[0] >= 2


def test_a_worker_that_dies_loses_nothing(work: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch, forks: list[int]) -> None:
    from crawler.cli import scanpool

    def dies(worker: object, parts: object, limits: object, claims: int, out: int, scan_part: object) -> None:
        for _ in range(3):  # takes three parts, then is killed before it answers
            scanpool._claim(claims)
        os._exit(9)

    monkeypatch.setattr(scanpool, "_child", dies)
    planted = _tree(work / "tree")
    _same_with_two(capsys, planted, work / "tree")
    assert forks and forks[0] > 3


def test_parts_beyond_what_the_pipe_holds_are_scanned(work: Path, capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch, forks: list[int]) -> None:
    from crawler.cli import scanpool

    def offers_two(feed: int, n: int) -> int:
        os.write(feed, (0).to_bytes(4, "little") + (1).to_bytes(4, "little"))
        os.close(feed)
        return 2

    monkeypatch.setattr(scanpool, "_offer", offers_two)
    planted = _tree(work / "tree")
    _same_with_two(capsys, planted, work / "tree")
    assert forks and forks[0] > 2


def test_bad_numbers_are_usage_errors(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "f.txt").write_text("x\n", encoding="utf-8")
    assert run(capsys, "scan", "f.txt", "-j", "0").code == 2
    res = run(capsys, "scan", "f.txt", "--max-file-size", "lots")
    assert res.code == 2 and "not a size" in res.err


def test_scan_imports_no_storage_http_or_report_stack(tmp_path: Path) -> None:
    write_config(tmp_path, "[[verifiers]]\nid = 'x'\nkind = 'http'\nurl = 'https://api.example.invalid/'\n")
    (tmp_path / "f.txt").write_text(acme_token() + "\n", encoding="utf-8")
    code = ("import sys\nfrom crawler import cli\nrc = cli.main(['scan', 'f.txt'])\n"
            "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'sqlalchemy', 'sqlmodel', 'httpx', 'alembic',"
            " 'jinja2', 'pygal', 'starlette', 'uvicorn', 'apscheduler', 'rich'})\n"
            "ours = sorted(m for m in sys.modules if m.startswith(('crawler.store', 'crawler.report', "
            "'crawler.engine.pipeline', 'crawler.plugins', 'sources', 'verifiers')))\n"
            "print(rc, heavy, ours)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.stdout.strip().splitlines()[-1] == "0 [] []", proc.stdout + proc.stderr
