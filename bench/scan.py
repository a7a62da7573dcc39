"""Scanner throughput: Hyperscan path, pure-Python fallback and detect-secrets, on one core.

    python bench/scan.py [--mb 100] [--org-rules 20] [--peer-mb 10] [--plant-kb 64] [--repeat 3]

The corpus is built deterministically from the Python sources installed on this machine (stdlib
and site-packages ``*.py``, sorted, then shuffled with ``random.Random(seed)``, repeated if the
pool is too small). Files that already contain a match of any rule are left out, so the only
valid tokens are the planted ones. Each file gets minted tokens (built-in pack + organisation
rules ``org{i}_live_``, base62 × 36, crc32-base62) and decoys (bad checksum, body too short, word
character before the prefix) in realistic contexts. The corpus is cached under ``bench/.corpus/``.

Each file is one document; documents go through ``Scanner.scan_batch`` as the daemon does.
Timings are around the scan only (compile time is printed separately): ``time.perf_counter``
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
            items = []
            for _ in range(_count(len(src), plant_every, rng)):
                rule = rng.choice(rules)
                token = mint(rule, rng)
                if [m.token for m in checker.scan(b" %s " % token.encode())] != [token.encode()]:
                    continue  # would also match another rule's shape: keep the truth unambiguous
                planted.add(fingerprint(token))
                items.append(token.encode())
                decoy = _decoy(rule, mint(rule, rng), rng)
                if decoy and not checker.scan(b" %s " % decoy[1]):
                    decoys[decoy[0]] = decoys.get(decoy[0], 0) + 1
                    items.append(decoy[1])
            doc = _plant(src, items, rng)
            docs.append(doc)
            total += len(doc)
        if clean == 0:
            raise SystemExit("every source file already contains a match; cannot build the corpus")
    return Corpus(docs, planted, decoys, len(skipped))


def _count(size: int, plant_every: int, rng: random.Random) -> int:
    expected = size / plant_every
    n = int(expected)
    return n + (1 if rng.random() < expected - n else 0)


def load_or_build(target: int, n_org: int, seed: int, plant_every: int) -> tuple[Corpus, bool]:
    ids = ",".join(r.id for r in rule_set(n_org))
    key = hashlib.sha256(f"{target}|{n_org}|{seed}|{plant_every}|{ids}|{sys.version}|v2".encode()).hexdigest()[:16]
    data, meta = CACHE / f"{key}.bin", CACHE / f"{key}.json"
    if data.exists() and meta.exists():
        info = json.loads(meta.read_text())
        blob, docs, pos = data.read_bytes(), [], 0
        for n in info["lengths"]:
            docs.append(blob[pos:pos + n])
            pos += n
        return Corpus(docs, set(info["planted"]), info["decoys"], info["skipped"]), True
    corpus = build_corpus(target, n_org, seed, plant_every)
    CACHE.mkdir(parents=True, exist_ok=True)
    data.write_bytes(b"".join(corpus.docs))
    meta.write_text(json.dumps({"lengths": [len(d) for d in corpus.docs], "planted": sorted(corpus.planted),
                                "decoys": corpus.decoys, "skipped": corpus.skipped_files}))
    return corpus, False


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


def run_leakpatrol(docs: Sequence[bytes], rules: list[Rule], hs: bool,
                   repeat: int) -> tuple[Timing, float, list[list[Match]]]:
    t0 = time.perf_counter()
    scanner = Scanner(rules, use_hyperscan=hs)
    compile_s = time.perf_counter() - t0
    timing, found = timed(lambda: scanner.scan_batch(docs), repeat)
    return timing, compile_s, found  # type: ignore[return-value]


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
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
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
    ap.add_argument("--many-org-rules", type=int, default=200, help="second run's organisation rules")
    ap.add_argument("--peer-mb", type=float, default=10.0, help="detect-secrets slice in MB (default 10)")
    ap.add_argument("--plant-kb", type=float, default=64.0,
                    help="one planted token (and about one decoy) per this many KB of source (default 64)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is shown")
    ap.add_argument("--pin", action="store_true", help="pin the process to one CPU")
    args = ap.parse_args(argv)

    print(machine())
    print(f"process: single-threaded, {pin_one_core(args.pin)}; MB = 10^6 bytes; median of {args.repeat} runs; "
          f"wall = time.perf_counter, cpu = time.process_time of this process")
    t0 = time.perf_counter()
    corpus, cached = load_or_build(int(args.mb * 1e6), args.org_rules, args.seed, int(args.plant_kb * 1000))
    mb = corpus.size / 1e6
    print(f"corpus: {mb:.1f} MB of installed Python sources in {len(corpus.docs)} documents "
          f"(mean {corpus.size // len(corpus.docs)} bytes), "
          f"{'cached' if cached else f'built in {time.perf_counter() - t0:.0f} s'}; "
          f"{len(corpus.planted)} planted tokens (one per ~{args.plant_kb:g} KB), decoys {corpus.decoys}, "
          f"{corpus.skipped_files} source files left out (already held a match)")
    n_builtin = len(rule_set(0))
    print(f"rules: {n_builtin} built-in + {args.org_rules} organisation (then + {args.many_org_rules})")

    ok, rates, keys = True, {}, {}
    configs = [(args.org_rules, True), (args.org_rules, False), (args.many_org_rules, True),
               (args.many_org_rules, False)]
    for n_org, hs in configs:
        if hs and not HAVE_HYPERSCAN:
            print(f"  hyperscan not installed: skipping the Hyperscan run with {n_org} org rules")
            continue
        label = f"{'hyperscan' if hs else 'python'} ({n_builtin}+{n_org} rules)"
        timing, compile_s, found = run_leakpatrol(corpus.docs, rule_set(n_org), hs, args.repeat)
        rates[(n_org, hs)] = timing
        keys[(n_org, hs)] = [[(m.rule.id, m.start, m.end, m.line, m.column) for m in ms] for ms in found]
        print(f"leakpatrol {label:<30} {timing.rates(mb)}  ({timing.wall:.2f} s; compile {compile_s * 1000:.0f} ms)")
        ok &= check(label, found, corpus)
    for n_org in (args.org_rules, args.many_org_rules):
        if (n_org, True) in keys:
            same = keys[(n_org, True)] == keys[(n_org, False)]
            print(f"  engines agree on every match (rule, offsets, line, column), {n_org} org rules: "
                  f"{'yes' if same else 'NO'}")
            ok &= same

    peer_docs, size = [], 0
    for doc in corpus.docs:
        if size >= args.peer_mb * 1e6:
            break
        peer_docs.append(doc)
        size += len(doc)
    peer, n_ds = run_detect_secrets(peer_docs)
    pmb = size / 1e6
    print(f"detect-secrets {_ds_version()} (default plugins, one file at a time) on a {pmb:.1f} MB slice "
          f"(the first {len(peer_docs)} documents of the same corpus): {peer.rates(pmb, 3).strip()} "
          f"({peer.wall:.1f} s, {n_ds} reported)")
    for (n_org, hs), timing in rates.items():
        name = f"{'hyperscan' if hs else 'python'} ({n_org} org rules)"
        print(f"  ratio leakpatrol {name:<26} / detect-secrets: {(mb / timing.wall) / (pmb / peer.wall):8,.0f}x wall "
              f"{(mb / timing.cpu) / (pmb / peer.cpu):8,.0f}x cpu")
    print("RESULT:", "found exactly the planted tokens, no decoy" if ok else "WRONG found set or engine disagreement")
    return 0 if ok else 1


def _ds_version() -> str:
    from importlib.metadata import version

    return version("detect-secrets")


if __name__ == "__main__":
    sys.exit(main())
