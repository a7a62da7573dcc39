"""Run every benchmark and write one dated table: ``bench/RESULTS.md``, and the README's copy of it.

    python bench/all.py [--quick] [--only NAME[,NAME...]] [--no-readme]

Each benchmark runs as its own process (``python bench/NAME.py ... --json FILE``), one after the
other, so none competes with another for the two cores. A benchmark that writes ``--json`` gives
rows of (figure, value, what it measures, input, sample size, command); one that does not gets a
row pointing at its printed output. ``bench/RESULTS.md`` holds the table, then every benchmark's
full output; the README's "Measured" section is replaced by the same header and table between its
``bench/all.py`` markers. ``--quick`` runs small sizes to check that everything works: its figures
are not the published ones and it never touches the README.
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

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"
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


STEPS = [
    Step("scan", "scan.py", [], ["--mb", "5", "--peer-mb", "0.3", "--repeat", "1"]),
    Step("peers", "peers.py", [], ["--quick"], json=False),
    Step("latency-sqlite", "latency.py", ["--per-source", "200"], ["--per-source", "4"]),
    Step("latency-postgresql", "latency.py", ["--per-source", "200", "--store", "postgresql"],
         ["--per-source", "4", "--store", "postgresql"], needs="postgresql"),
    Step("throughput", "throughput.py", ["--docs", "10000"], ["--docs", "500"]),
    Step("store-io", "store_io.py", [], ["--ops", "200"], json=False),
    Step("faults", "faults.py", [], ["--tokens", "10", "--spread", "20"], in_readme=True),
    Step("coverage", "coverage.py", [], ["--hours", "1", "--rate", "5", "--no-pg"], in_readme=True),
    Step("peer-samples", "peer_samples.py", [], [], json=False),
]


def machine() -> dict[str, str]:
    cpu = platform.processor() or "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
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


def table(figures: list[dict[str, str]], link: str) -> str:
    rows = ["| figure | value | what it measures | input | sample | command |", "|---|---|---|---|---|---|"]
    for f in figures:
        cmd = f"[`{cell(f['command'])}`]({link}#{f['section']})"
        rows.append(f"| {cell(f['figure'])} | {cell(f['value'])} | {cell(f['measures'])} | {cell(f['input'])} "
                    f"| {cell(f['n'])} | {cmd} |")
    return "\n".join(rows)


def header(info: dict[str, str], quick: bool) -> str:
    return (f"Produced by `python bench/all.py`{' --quick (NOT the published figures)' if quick else ''} on "
            f"**{info['date']}**, commit `{info['commit']}`: {info['machine']}, Python {info['python']}. "
            "Each benchmark ran alone, one after the other.")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, to check that every benchmark runs")
    ap.add_argument("--only", help="comma-separated step names: " + ", ".join(s.name for s in STEPS))
    ap.add_argument("--no-readme", action="store_true", help="write bench/RESULTS.md only")
    ap.add_argument("--output", default=str(RESULTS), help="where to write the results (default bench/RESULTS.md)")
    args = ap.parse_args(argv)
    wanted = set(args.only.split(",")) if args.only else None
    steps = [s for s in STEPS if wanted is None or s.name in wanted]
    info = machine()
    figures: list[dict[str, str]] = []
    sections: list[str] = []
    readme_outputs: list[str] = []
    failed = 0
    with tempfile.TemporaryDirectory(prefix="lp-bench-all-") as tmp:
        for step in steps:
            got, output, status = run_step(step, args.quick, Path(tmp))
            if status == "not present":
                continue
            failed += status.startswith("exit") and not status.startswith("exit 0")
            figures += got
            if step.in_readme:
                readme_outputs.append(f"`{step.shown(args.quick)}`:\n\n```\n{output.strip()}\n```\n")
            sections.append(f'<a id="{step.name}"></a>\n### {step.name}\n\n`{step.shown(args.quick)}` — {status}\n\n'
                            f"```\n{output.strip()}\n```\n")
    head = header(info, args.quick)
    Path(args.output).write_text(f"# Benchmark results\n\n{head}\n\n{table(figures, '')}\n\n## Full output\n\n"
                                 + "\n".join(sections), encoding="utf-8")
    print(f"wrote {args.output}")
    if not args.quick and not args.no_readme and wanted is None:
        text = README.read_text(encoding="utf-8")
        if BEGIN in text and END in text:
            before, rest = text.split(BEGIN, 1)
            _, after = rest.split(END, 1)
            link = "bench/RESULTS.md"
            summary = f"{head} Full output: [{link}]({link}).\n\n{table(figures, link)}\n"
            summary += "".join(f"\n{o}" for o in readme_outputs)
            README.write_text(f"{before}{BEGIN}\n{summary}{END}{after}", encoding="utf-8")
            print("updated the README's Measured section")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
