"""Run every benchmark and write one dated table: ``bench/RESULTS.md``, and the README's copy of it.

    python bench/all.py [--quick] [--only NAME[,NAME...]] [--render]

Each benchmark runs as its own process (``python bench/NAME.py ... --json FILE``), one after the
other, so none competes with another for the two cores. A benchmark that writes ``--json`` gives
rows of (figure, value, what it measures, input, sample size, command); one that does not gets a
row pointing at its printed output. Each benchmark's record (figures, output, date, commit, machine,
load average) is kept in ``bench/results/NAME.json``; ``bench/RESULTS.md`` holds the table rendered
from all records, then every benchmark's full output, and the README's "Measured" section is
replaced by the same header and table between its ``bench/all.py`` markers. ``--only`` re-runs some
benchmarks and renders again with the others' stored records (each row carries its own date and
commit). ``--quick`` runs small sizes into a temporary folder to check that everything works: its
figures are not the published ones and it never touches the README.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "RESULTS.md"
STORED = ROOT / "bench" / "results"
"""One JSON record per benchmark (figures, output, date, commit, machine, load), committed: a partial
run (``--only``) replaces its own records and the table is rendered again from all of them."""
README = ROOT / "README.md"
BEGIN, END = "<!-- bench/all.py:begin -->", "<!-- bench/all.py:end -->"


@dataclass
class Step:
    name: str
    script: str
    args: list[str]
    quick: list[str]
    json: bool = True
    needs: str = ""  # "postgresql": skipped, and said so, where PostgreSQL is not reachable
    in_readme: bool = False  # the README shows its full output under the table, not only its rows

    def argv(self, quick: bool) -> list[str]:
        return [sys.executable, str(ROOT / "bench" / self.script), *(self.quick if quick else self.args)]

    def shown(self, quick: bool) -> str:
        return " ".join(["python", f"bench/{self.script}", *(self.quick if quick else self.args)])


MIRROR = Path(os.environ.get("LEAKPATROL_PEER_MIRROR", "/work/.mirror"))
PEER_MIRROR = ["--peers", str(MIRROR)] if (MIRROR / "gitleaks+gitleaks").exists() else []
"""Local git copies of the peers (``<owner>+<name>/repo``) where this machine has them; else
``peer_samples.py`` clones the pinned commits from GitHub."""

STEPS = [
    Step("scan", "scan.py", [], ["--mb", "5", "--peer-mb", "0.3", "--repeat", "1"]),
    Step("peers", "peers.py", [], ["--mb", "5", "--repeat", "1", "--big-mb", "50"]),
    Step("latency-sqlite", "latency.py", ["--per-source", "200"], ["--per-source", "4"]),
    Step("latency-postgresql", "latency.py", ["--per-source", "200", "--store", "postgresql"],
         ["--per-source", "4", "--store", "postgresql"], needs="postgresql"),
    Step("throughput", "throughput.py", ["--docs", "10000"], ["--docs", "500"]),
    Step("store-io", "store_io.py", [], ["--ops", "200"], json=False),
    Step("faults", "faults.py", [], ["--tokens", "10", "--spread", "20"], in_readme=True),
    Step("peer-samples", "peer_samples.py", PEER_MIRROR, PEER_MIRROR),
    Step("partner", "partner.py", [], ["--n", "200", "--requests", "100"]),
    Step("hostile", "hostile.py", [], ["--tokens", "2", "--spread", "10"]),
    Step("coverage", "coverage.py", [], ["--hours", "1", "--rate", "5", "--no-pg"], in_readme=True),
]


def machine() -> dict[str, str]:
    from bench.common import cpu_model

    cpu = cpu_model()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip() or "unknown"
    # This script's own output (the steps' result files, RESULTS.md, the README's table) is written
    # as it runs: it does not make the measured code "uncommitted" for the steps after the first.
    own = [f":(exclude){p}" for p in ("bench/results", "bench/RESULTS.md", "README.md")]
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", *own], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {"date": f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
            "machine": f"{cpu}, {os.cpu_count()} cores{mem}, {platform.system()} {platform.release()}",
            "python": platform.python_version(),
            "commit": commit + (" (with uncommitted changes)" if dirty else "")}


def postgresql_up() -> bool:
    try:
        import psycopg
    except ImportError:
        return False
    url = os.environ.get("LEAKPATROL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test").replace("+psycopg", "")
    try:
        psycopg.connect(url, connect_timeout=3).close()
    except psycopg.Error:
        return False
    return True


def run_step(step: Step, quick: bool, folder: Path) -> tuple[list[dict[str, str]], str, str]:
    """(figures, printed output, status)."""
    shown = step.shown(quick)
    if not (ROOT / "bench" / step.script).exists():
        return [], "", "not present"
    if step.needs == "postgresql" and not postgresql_up():
        return [], "", "skipped: PostgreSQL not reachable"
    out_json = folder / f"{step.name}.json"
    argv = step.argv(quick) + (["--json", str(out_json)] if step.json else [])
    print(f"== {shown}", flush=True)
    started = time.monotonic()
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    took = time.monotonic() - started
    output = proc.stdout + (f"\n[stderr]\n{proc.stderr[-3000:]}" if proc.returncode and proc.stderr else "")
    print(output, flush=True)
    status = f"exit {proc.returncode}, {took:.0f} s"
    figures: list[dict[str, str]] = []
    if step.json and out_json.exists():
        figures = json.loads(out_json.read_text(encoding="utf-8"))["figures"]
    if not figures:
        figures = [{"figure": step.name, "value": f"see [its output](#{step.name})", "measures": "",
                    "input": "", "n": "", "command": shown}]
    if proc.returncode:
        for f in figures:
            f["value"] = f"**failed ({status})** " + f["value"]
    for f in figures:
        f["section"] = step.name
    return figures, output, status


def cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def table(records: list[dict[str, Any]], link: str) -> str:
    rows = ["| figure | value | what it measures | input | sample | measured | command |",
            "|---|---|---|---|---|---|---|"]
    for rec in records:
        when = f"{rec['date']}, `{rec['commit']}`, load {rec['load']}"
        for f in rec["figures"]:
            cmd = f"[`{cell(f['command'])}`]({link}#{rec['name']})"
            rows.append(f"| {cell(f['figure'])} | {cell(f['value'])} | {cell(f['measures'])} | {cell(f['input'])} "
                        f"| {cell(f['n'])} | {cell(when)} | {cmd} |")
    return "\n".join(rows)


def header(records: list[dict[str, Any]], quick: bool) -> str:
    machines = sorted({f"{r['machine']}, Python {r['python']}" for r in records})
    dates = sorted(r["date"] for r in records)
    span = f"{dates[0]} to {dates[-1]}" if dates and dates[0] != dates[-1] else (dates[0] if dates else "never")
    return (f"Produced by `python bench/all.py`{' --quick (NOT the published figures)' if quick else ''}, "
            f"measured **{span}** on {'; '.join(machines) or 'no machine'}. Each benchmark ran as its own "
            "process, one after the other; the `measured` column gives each row's date, commit and the "
            "machine's 1-minute load average when it started (2 cores: a load near 2 means the machine "
            "was busy with other work, which lowers wall-clock figures).")


def render(records: list[dict[str, Any]], quick: bool, output: Path, readme: bool) -> None:
    head = header(records, quick)
    sections = [f'<a id="{r["name"]}"></a>\n### {r["name"]}\n\n`{r["shown"]}` — {r["status"]}, {r["date"]}, '
                f'commit `{r["commit"]}`\n\n```\n{r["output"].strip()}\n```\n' for r in records]
    output.write_text(f"# Benchmark results\n\n{head}\n\n{table(records, '')}\n\n## Full output\n\n"
                      + "\n".join(sections), encoding="utf-8")
    print(f"wrote {output}")
    if not readme:
        return
    text = README.read_text(encoding="utf-8")
    if BEGIN in text and END in text:
        before, rest = text.split(BEGIN, 1)
        _, after = rest.split(END, 1)
        link = "bench/RESULTS.md"
        summary = f"{head} Full output: [{link}]({link}).\n\n{table(records, link)}\n"
        summary += "".join(f"\n`{r['shown']}` ({r['date']}):\n\n```\n{r['output'].strip()}\n```\n"
                           for r in records if r.get("in_readme"))
        README.write_text(f"{before}{BEGIN}\n{summary}{END}{after}", encoding="utf-8")
        print("updated the README's Measured section")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, to check that every benchmark runs")
    ap.add_argument("--only", help="comma-separated step names (the others keep their stored results): "
                    + ", ".join(s.name for s in STEPS))
    ap.add_argument("--render", action="store_true", help="only render the stored results again")
    args = ap.parse_args(argv)
    wanted = set(args.only.split(",")) if args.only else None
    unknown = (wanted or set()) - {s.name for s in STEPS}
    if unknown:
        ap.error(f"unknown step(s): {', '.join(sorted(unknown))}")
    store = Path(tempfile.mkdtemp(prefix="lp-bench-quick-")) if args.quick else STORED
    store.mkdir(parents=True, exist_ok=True)
    failed = 0
    with tempfile.TemporaryDirectory(prefix="lp-bench-all-") as tmp:
        for step in STEPS:
            if args.render or (wanted is not None and step.name not in wanted):
                continue
            info = machine()
            load = f"{os.getloadavg()[0]:.1f}"
            got, output, status = run_step(step, args.quick, Path(tmp))
            if status == "not present":
                continue
            failed += status.startswith("exit") and not status.startswith("exit 0")
            record = {"name": step.name, "shown": step.shown(args.quick), "status": status, "load": load,
                      "figures": got, "output": output, "in_readme": step.in_readme, **info}
            (store / f"{step.name}.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
    order = {s.name: i for i, s in enumerate(STEPS)}
    records = sorted((json.loads(f.read_text(encoding="utf-8")) for f in store.glob("*.json")
                      if f.stem in order), key=lambda r: order[r["name"]])
    render(records, args.quick, store / "RESULTS.md" if args.quick else RESULTS, readme=not args.quick)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
