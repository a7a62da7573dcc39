"""Scanner throughput: Hyperscan path and pure-Python fallback, batched, per document and as a whole
``leakpatrol scan`` process, at two token densities, on one core.

    python bench/scan.py [--mb 100] [--org-rules 20] [--many-org-rules 200] [--plant-kb 64,4]
                         [--peer-mb 10] [--repeat 3] [--json FILE]

The corpus is built deterministically from the Python sources installed on this machine (stdlib
and site-packages ``*.py``, sorted, then shuffled with ``random.Random(seed)``, repeated if the
pool is too small). Files that already contain a match of any rule are left out, so the only
valid tokens are the planted ones. Each file gets minted tokens (built-in pack + organisation
rules ``org{i}_live_``, base62 × 36, crc32-base62) and decoys (bad checksum, body too short, word
character before the prefix) in realistic contexts. The corpus is cached under ``bench/.corpus/``.

Each file is one document. Three figures side by side: *batched* (all documents in one
``Scanner.scan_batch`` call, which amortises the per-call cost), *per document* (one ``Scanner.scan``
call per document, as the daemon scans a gist file or a paste) and *process* (``leakpatrol scan`` on
the corpus written as a file tree: a whole process, start-up included). The in-process timings are
around the scan only (compile time is printed separately): ``time.perf_counter``
(wall) and ``time.process_time`` (CPU of this single-threaded process, which is what "per core"
means on a shared machine), median of ``--repeat`` runs.
MB = 10**6 bytes. Exit status 1 if any engine's found set is not exactly the planted tokens.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crawler.config.model import RuleConfig
from crawler.detect.mint import mint
from crawler.detect.redaction import fingerprint
from crawler.detect.rules import Rule, load_rules
from crawler.detect.scanner import HAVE_HYPERSCAN, Match, Scanner

CACHE = Path(__file__).resolve().parent / ".corpus"
CONTEXTS = [
    b'API_KEY = "%s"\n',
    b"    token: %s\n",
    b'    "secret": "%s",\n',
    b"# curl 'https://api.example.invalid/v1/items?key=%s&x=1'\n",
    b"+export SERVICE_TOKEN=%s\r\n",
    b"headers = {'Authorization': 'Bearer %s'}\n",
]


def org_rules(n: int) -> list[RuleConfig]:
    return [RuleConfig(id=f"org{i}-live", prefix=f"org{i}_live_", charset="base62", length=36,
                       checksum="crc32-base62") for i in range(n)]


def rule_set(n_org: int) -> list[Rule]:
    """The built-in pack plus ``n_org`` organisation rules (organisation rules first)."""
    return load_rules(None, extra=org_rules(n_org))


# -- corpus ------------------------------------------------------------------------------------


@dataclass
class Corpus:
    docs: list[bytes]
    planted: set[str]  # fingerprints
    decoys: dict[str, int]  # kind -> count
    skipped_files: int

    @property
    def size(self) -> int:
        return sum(len(d) for d in self.docs)


def source_files(rng: random.Random) -> list[Path]:
    paths = sysconfig.get_paths()
    roots = sorted({paths["stdlib"], paths["purelib"], paths["platlib"]})
    files = sorted({p for root in roots for p in Path(root).rglob("*.py") if p.is_file()})
    rng.shuffle(files)
    return files


def _decoy(rule: Rule, token: str, rng: random.Random) -> tuple[str, bytes] | None:
    body = token[len(rule.prefix):]
    kind = rng.choice(["bad-checksum", "too-short", "word-before"])
    if kind == "bad-checksum" and rule.checksum == "crc32-base62":
        i = rng.randrange(len(body))
        alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
        return kind, (rule.prefix + body[:i] + rng.choice(alphabet.replace(body[i], "")) + body[i + 1:]).encode()
    if kind == "too-short" and rule.body_regex is None:
        return kind, (rule.prefix + body[: rule.min_len - 1]).encode()
    if kind == "word-before":
        return kind, rng.choice([b"x", b"_", b"9", b"Q"]) + token.encode()
    return None


def _plant(src: bytes, items: list[bytes], rng: random.Random) -> bytes:
    """Insert each item, wrapped in a random context line, at a random line start of ``src``."""
    lines = src.split(b"\n")
    for item in items:
        at = rng.randrange(len(lines) + 1)
        lines.insert(at, (rng.choice(CONTEXTS) % item).rstrip(b"\n"))
    return b"\n".join(lines)


def build_corpus(target: int, n_org: int, seed: int, plant_every: int) -> Corpus:
    rng = random.Random(seed)
    rules = rule_set(n_org)
    checker = Scanner(rules, use_hyperscan=False)
    files = source_files(rng)
    if not files:
        raise SystemExit("no Python sources found to build the corpus from")
    docs: list[bytes] = []
    planted: set[str] = set()
    decoys: dict[str, int] = {}
    skipped: set[Path] = set()
    total = 0
    while total < target:
        clean = 0
        for path in files:
            if total >= target:
                break
            if path in skipped:
                continue
            src = path.read_bytes()
            if checker.scan(src):  # a real-looking token is already there (documentation examples)
                skipped.add(path)
                continue
            clean += 1
            items: list[tuple[bytes, str | None, bool]] = []  # (bytes, fingerprint of a token, paired rule)
            for _ in range(_count(len(src), plant_every, rng)):
                rule = rng.choice(rules)
                token = mint(rule, rng)
                if [m.token for m in checker.scan(b" %s " % token.encode())] != [token.encode()]:
                    continue  # would also match another rule's shape: keep the truth unambiguous
                items.append((token.encode(), fingerprint(token), rule.companion is not None))
                decoy = _decoy(rule, mint(rule, rng), rng)
                if decoy and not checker.scan(b" %s " % decoy[1]):
                    decoys[decoy[0]] = decoys.get(decoy[0], 0) + 1
                    items.append((decoy[1], None, False))
            doc = _plant(src, [i[0] for i in items], rng)
            if {m.fingerprint for m in checker.scan(doc)} != {i[1] for i in items if i[1]}:
                # A paired rule's lone key id planted near a run shaped like its secret (a long
                # identifier) is a pair, a finding of another fingerprint: leave this file's key ids
                # out. A file where the planted tokens still are not what a scan finds (its content
                # turns them into something else) is left out whole, and counted: the truth must not
                # bend to the scanner.
                items = [i for i in items if not i[2]]
                doc = _plant(src, [i[0] for i in items], rng)
                if {m.fingerprint for m in checker.scan(doc)} != {i[1] for i in items if i[1]}:
                    skipped.add(path)
                    continue
            planted.update(i[1] for i in items if i[1])
            docs.append(doc)
            total += len(doc)
        if clean == 0:
            raise SystemExit("every source file already contains a match; cannot build the corpus")
    return Corpus(docs, planted, decoys, len(skipped))


def _count(size: int, plant_every: int, rng: random.Random) -> int:
    expected = size / plant_every
    n = int(expected)
    return n + (1 if rng.random() < expected - n else 0)


def load_or_build(target: int, n_org: int, seed: int, plant_every: int) -> tuple[Corpus, bool, str]:
    ids = ",".join(r.id for r in rule_set(n_org))
    key = hashlib.sha256(f"{target}|{n_org}|{seed}|{plant_every}|{ids}|{sys.version}|v3".encode()).hexdigest()[:16]
    data, meta = CACHE / f"{key}.bin", CACHE / f"{key}.json"
    if data.exists() and meta.exists():
        info = json.loads(meta.read_text())
        blob, docs, pos = data.read_bytes(), [], 0
        for n in info["lengths"]:
            docs.append(blob[pos:pos + n])
            pos += n
        return Corpus(docs, set(info["planted"]), info["decoys"], info["skipped"]), True, key
    corpus = build_corpus(target, n_org, seed, plant_every)
    CACHE.mkdir(parents=True, exist_ok=True)
    data.write_bytes(b"".join(corpus.docs))
    meta.write_text(json.dumps({"lengths": [len(d) for d in corpus.docs], "planted": sorted(corpus.planted),
                                "decoys": corpus.decoys, "skipped": corpus.skipped_files}))
    return corpus, False, key


# -- measuring ---------------------------------------------------------------------------------


@dataclass
class Timing:
    wall: float  # time.perf_counter seconds, median of the runs
    cpu: float  # time.process_time seconds (this process only), median of the runs

    def rates(self, mb: float, digits: int = 1) -> str:
        return f"{mb / self.wall:9.{digits}f} MB/s wall {mb / self.cpu:9.{digits}f} MB/s cpu"


def timed(fn: Callable[[], object], repeat: int) -> tuple[Timing, object]:
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return Timing(statistics.median(walls), statistics.median(cpus)), result


def run_leakpatrol(docs: Sequence[bytes], rules: list[Rule], hs: bool, repeat: int,
                   per_document: bool) -> tuple[Timing, float, list[list[Match]]]:
    """Batched: every document in one ``scan_batch`` call (Hyperscan's vectored mode groups them in
    ~1 MiB blocks, which amortises the per-call cost). Per document: one ``scan`` call per document,
    as the daemon calls it for a gist file or a paste."""
    t0 = time.perf_counter()
    scanner = Scanner(rules, use_hyperscan=hs)
    compile_s = time.perf_counter() - t0
    if per_document:
        timing, found = timed(lambda: [scanner.scan(d) for d in docs], repeat)
    else:
        timing, found = timed(lambda: scanner.scan_batch(docs), repeat)
    return timing, compile_s, found  # type: ignore[return-value]


def write_tree(corpus: Corpus, key: str) -> Path:
    """The corpus as a file tree (one file per document) for the whole-process figure. It lives in
    the system's temporary folder, outside any git work tree, and is rebuilt when missing."""
    content = hashlib.sha256()
    for doc in corpus.docs:
        content.update(hashlib.sha256(doc).digest())
    # Keyed by the documents themselves: a tree left by another checkout's corpus is never reused.
    tree = Path(tempfile.gettempdir()) / f"lp-bench-tree-{key}-{content.hexdigest()[:16]}"
    marker = tree / ".complete"
    if not marker.exists():
        for i, doc in enumerate(corpus.docs):
            sub = tree / f"d{i // 500:03d}"
            sub.mkdir(parents=True, exist_ok=True)
            (sub / f"doc{i:05d}.py").write_bytes(doc)
        marker.write_text("")
    return tree


def org_config(n_org: int, folder: Path) -> Path:
    cfg = folder / "leakpatrol.toml"
    cfg.write_text("".join(
        f'[[rules]]\nid = "{r.id}"\nprefix = "{r.prefix}"\ncharset = "base62"\nlength = 36\n'
        f'checksum = "crc32-base62"\n\n' for r in org_rules(n_org)), encoding="utf-8")
    return cfg


def byte_compile() -> None:
    """pip byte-compiles a wheel's modules when it installs them; an editable checkout run with
    ``PYTHONDONTWRITEBYTECODE=1`` would compile every module from source on every start instead, so
    the whole-process figures (here and in ``bench/peers.py``) byte-compile the package first."""
    root = Path(__file__).resolve().parent.parent
    for package in ("crawler", "sources", "verifiers"):
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(root / package)], check=True,
                       stdout=subprocess.DEVNULL)


def run_process(tree: Path, n_org: int, repeat: int) -> tuple[float, set[str], int, str]:
    """``leakpatrol scan`` on the tree as a whole process (start-up, walk, read, scan, JSON output),
    one process (``-j 1`` where the option exists); median wall of ``repeat`` runs."""
    exe = str(Path(sys.executable).parent / "leakpatrol")
    byte_compile()
    help_text = subprocess.run([exe, "scan", "--help"], capture_output=True, text=True).stdout
    jobs = ["-j", "1"] if " -j" in help_text else []
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [exe, "scan", "-c", str(org_config(n_org, Path(tmp))), "--format", "json", *jobs, str(tree)]
        walls, out = [], None
        for _ in range(repeat):
            w0 = time.perf_counter()
            out = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp)
            walls.append(time.perf_counter() - w0)
            if out.returncode not in (0, 1):
                raise SystemExit(f"leakpatrol scan failed ({out.returncode}): {out.stderr[-500:]}")
    assert out is not None
    findings = json.loads(out.stdout)["findings"]
    shown = " ".join(["leakpatrol", "scan", "-c", "ORG.toml", "--format", "json", *jobs, "TREE"])
    return statistics.median(walls), {f["fingerprint"] for f in findings}, len(findings), shown


def run_detect_secrets(docs: Sequence[bytes]) -> tuple[Timing, int]:
    from detect_secrets import SecretsCollection
    from detect_secrets.settings import default_settings

    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, doc in enumerate(docs):
            p = Path(tmp) / f"doc{i:05d}.py"
            p.write_bytes(doc)
            paths.append(str(p))
        secrets = SecretsCollection()

        def scan_all() -> None:
            for p in paths:
                secrets.scan_file(p)

        with default_settings():
            timing, _ = timed(scan_all, 1)
    return timing, sum(len(v) for v in secrets.data.values())


def check(label: str, found: list[list[Match]], corpus: Corpus) -> bool:
    fps = [m.fingerprint for ms in found for m in ms]
    ok = set(fps) == corpus.planted and len(fps) == len(corpus.planted)
    missing = len(corpus.planted - set(fps))
    extra = len(set(fps) - corpus.planted)
    print(f"  check {label:<34} found {len(fps)} (distinct {len(set(fps))}), planted {len(corpus.planted)}, "
          f"missing {missing}, unexpected {extra}: {'OK' if ok else 'WRONG'}")
    return ok


def machine() -> str:
    from bench.common import cpu_model

    model = cpu_model()
    hs = "not installed"
    if HAVE_HYPERSCAN:
        from importlib.metadata import version
        hs = version("hyperscan")
    return (f"machine: {model}, {os.cpu_count()} cores ({platform.machine()}, {platform.system()})\n"
            f"python {platform.python_version()}, hyperscan {hs}\n"
            f"date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}")


def pin_one_core(pin: bool) -> str:
    if not pin:
        return "not pinned (the OS picks the least busy core)"
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned (no sched_setaffinity)"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--mb", type=float, default=100.0, help="corpus size in MB (default 100)")
    ap.add_argument("--org-rules", type=int, default=20, help="organisation rules (default 20)")
    ap.add_argument("--many-org-rules", type=int, default=200, help="second rule set's organisation rules")
    ap.add_argument("--peer-mb", type=float, default=10.0,
                    help="detect-secrets slice in MB for the footnote (default 10; 0 leaves it out)")
    ap.add_argument("--plant-kb", default="64,4",
                    help="token densities: one planted token (and about one decoy) per this many KB, "
                         "comma-separated (default 64,4)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is shown")
    ap.add_argument("--pin", action="store_true", help="pin the process to one CPU")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON (for bench/all.py)")
    args = ap.parse_args(argv)

    print(machine())
    print(f"process: single-threaded, {pin_one_core(args.pin)}; MB = 10^6 bytes; median of {args.repeat} runs; "
          f"wall = time.perf_counter, cpu = time.process_time of this process")
    n_builtin = len(rule_set(0))
    print(f"rules: {n_builtin} built-in + {args.org_rules} organisation = {n_builtin + args.org_rules}, "
          f"then + {args.many_org_rules} = {n_builtin + args.many_org_rules}")
    print("modes: batched = every document in one scan_batch call (vectored ~1 MiB groups); "
          "per-document = one scan call per document, as the daemon scans a gist file or a paste; "
          "process = `leakpatrol scan` on the corpus as a file tree, whole process (start-up included)")
    ok, figures = True, []
    for kb in [float(x) for x in str(args.plant_kb).split(",") if x.strip()]:
        ok &= measure_density(args, kb, n_builtin, figures)
    if args.peer_mb > 0:
        footnote(args, figures)
    if args.json:
        Path(args.json).write_text(json.dumps({"figures": figures}, indent=2), encoding="utf-8")
    print("RESULT:", "found exactly the planted tokens, no decoy" if ok else "WRONG found set or engine disagreement")
    return 0 if ok else 1


def runs(n: int) -> str:
    return f"median of {n} runs" if n > 1 else "1 run"


def measure_density(args: argparse.Namespace, kb: float, n_builtin: int, figures: list[dict[str, str]]) -> bool:
    t0 = time.perf_counter()
    corpus, cached, key = load_or_build(int(args.mb * 1e6), args.org_rules, args.seed, int(kb * 1000))
    mb = corpus.size / 1e6
    where = (f"{mb:.1f} MB of installed Python sources in {len(corpus.docs)} documents "
             f"(mean {corpus.size // len(corpus.docs)} bytes), one token per ~{kb:g} KB")
    print(f"\n== density: one planted token per ~{kb:g} KB ==")
    print(f"corpus: {where}, {'cached' if cached else f'built in {time.perf_counter() - t0:.0f} s'}; "
          f"{len(corpus.planted)} planted tokens, decoys {corpus.decoys}, "
          f"{corpus.skipped_files} source files left out (already held a match, or turned a planted token "
          f"into another finding)")
    ok, keys = True, {}
    for n_org in (args.org_rules, args.many_org_rules):
        for hs in (True, False):
            if hs and not HAVE_HYPERSCAN:
                print(f"  hyperscan not installed: no Hyperscan run with {n_org} org rules")
                continue
            engine = "hyperscan" if hs else "python"
            for per_doc in (False, True):
                mode = "per-document" if per_doc else "batched"
                label = f"{engine} {mode} ({n_builtin}+{n_org} rules)"
                timing, compile_s, found = run_leakpatrol(corpus.docs, rule_set(n_org), hs, args.repeat, per_doc)
                keys[(n_org, hs, per_doc)] = [[(m.rule.id, m.start, m.end, m.line, m.column) for m in ms]
                                              for ms in found]
                print(f"leakpatrol {label:<42} {timing.rates(mb)}  ({timing.wall:.2f} s; "
                      f"compile {compile_s * 1000:.0f} ms)")
                ok &= check(label, found, corpus)
                figures.append({
                    "figure": f"Scanner, {engine}, {mode}, {n_builtin + n_org} rules, 1 token / {kb:g} KB",
                    "value": f"{mb / timing.cpu:,.0f} MB/s per core (cpu); {mb / timing.wall:,.0f} MB/s wall",
                    "measures": "in-process scan only (compile apart), one thread; "
                                + ("all documents in one call" if not per_doc else "one call per document"),
                    "input": where, "n": runs(args.repeat),
                    "command": f"python bench/scan.py --plant-kb {kb:g}"})
        same = len({repr(v) for (n, _, _), v in keys.items() if n == n_org}) == 1
        print(f"  engines and modes agree on every match (rule, offsets, line, column), {n_org} org rules: "
              f"{'yes' if same else 'NO'}")
        ok &= same
    tree = write_tree(corpus, key)
    wall, fps, n_found, shown = run_process(tree, args.org_rules, args.repeat)
    exact = fps == corpus.planted and n_found == len(corpus.planted)
    print(f"leakpatrol scan, whole process ({n_builtin}+{args.org_rules} rules): {mb / wall:9.1f} MB/s wall "
          f"({wall:.2f} s for {len(corpus.docs)} files; `{shown}`)")
    print(f"  check process                            found {n_found} (distinct {len(fps)}), planted "
          f"{len(corpus.planted)}, missing {len(corpus.planted - fps)}, unexpected {len(fps - corpus.planted)}: "
          f"{'OK' if exact else 'WRONG'}")
    ok &= exact
    figures.append({
        "figure": f"`leakpatrol scan`, whole process, {n_builtin + args.org_rules} rules, 1 token / {kb:g} KB",
        "value": f"{mb / wall:,.0f} MB/s wall ({wall:.2f} s)",
        "measures": "start-up, walk, read, scan and JSON output of one process (`-j 1` where available)",
        "input": f"the same corpus as {len(corpus.docs)} files", "n": runs(args.repeat),
        "command": f"python bench/scan.py --plant-kb {kb:g}"})
    return ok


def footnote(args: argparse.Namespace, figures: list[dict[str, str]]) -> None:
    """detect-secrets as a same-language reference, not a like-for-like peer: it reads files and runs
    every default plugin, entropy included; the compiled peers are in ``bench/peers.py``."""
    corpus, _, _ = load_or_build(int(args.mb * 1e6), args.org_rules, args.seed,
                                 int(float(str(args.plant_kb).split(",")[0]) * 1000))
    peer_docs, size = [], 0
    for doc in corpus.docs:
        if size >= args.peer_mb * 1e6:
            break
        peer_docs.append(doc)
        size += len(doc)
    peer, n_ds = run_detect_secrets(peer_docs)
    pmb = size / 1e6
    print(f"\nfootnote, not like for like: detect-secrets {_ds_version()} (default plugins, entropy included, "
          f"reading one file at a time) on a {pmb:.1f} MB slice (the first {len(peer_docs)} documents): "
          f"{peer.rates(pmb, 3).strip()} ({peer.wall:.1f} s, {n_ds} reported)")
    figures.append({
        "figure": "detect-secrets (footnote: a same-language reference, not like for like)",
        "value": f"{pmb / peer.wall:.3f} MB/s wall", "measures": "reading files, every default plugin incl. entropy",
        "input": f"the first {pmb:.1f} MB of the corpus", "n": "1 run", "command": "python bench/scan.py"})


def _ds_version() -> str:
    from importlib.metadata import version

    return version("detect-secrets")


if __name__ == "__main__":
    sys.exit(main())
