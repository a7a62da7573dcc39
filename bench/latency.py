"""Leak-to-webhook latency: publish → signed webhook accepted, at 1 s polling.

    python bench/latency.py [--tokens 60] [--interval 1] [--seed 1]

A loopback sandbox (fake GitHub events and gists, GitLab snippets, Pastebin and an HTML paste site)
and the reference receiver run in this process; the real daemon runs as ``python -m crawler run``.
Live tokens are published at random moments across the sources; the latency of each is the
sandbox's publication time (``Published.published_at``) to the receiver's first arrival of its
webhook. Target (README): p50 ≤ 1.0 s, p99 ≤ 2.0 s.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import SOURCES, Daemon, Receiver, machine, publish, summary_row, wait_for
from crawler.demo.sandbox import Sandbox


async def run(tokens: int, interval: float, seed: int) -> int:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="lp-latency-") as tmp:
        folder = Path(tmp)
        async with Sandbox(poll_interval=interval) as sb, Receiver(folder) as receiver:
            daemon = Daemon(sb, receiver, folder, f"{interval:g}s").start()
            try:
                await daemon.ready(len(SOURCES))
                planted: list[tuple[str, str, float]] = []
                for n in range(tokens):
                    await asyncio.sleep(rng.uniform(0.05, 0.6))
                    source = rng.choice(SOURCES)
                    tok = sb.mint()
                    pub = publish(sb, source, f"# settings\nAPI_TOKEN={tok}\n", n)
                    planted.append((source, tok, pub.published_at))
                await wait_for(lambda: all(t in receiver.arrivals for _, t, _ in planted), 60, "every webhook")
                server_side = await daemon.metric("leakpatrol_leak_to_notify_seconds_sum")
            finally:
                code = daemon.stop()
    per_source: dict[str, list[float]] = defaultdict(list)
    for source, tok, at in planted:
        if tok in receiver.arrivals:
            per_source[source].append(receiver.arrivals[tok] - at)
    every = [v for vs in per_source.values() for v in vs]
    print("leakpatrol bench/latency.py: publish → webhook arrival at the reference receiver")
    print(machine())
    print(f"poll interval {interval:g}s, {tokens} live tokens at random moments, seed {seed}, "
          f"daemon exit code {code}")
    print(f"{'source':<18} {'n':>4} {'p50 s':>7} {'p90 s':>7} {'p99 s':>7} {'mean s':>7} {'max s':>7}")
    for source in SOURCES:
        print(summary_row(source, per_source.get(source, [])))
    print(summary_row("overall", every))
    print(f"delivered {len(every)}/{tokens}; daemon's own leak_to_notify mean "
          f"{server_side / max(1, len(every)):.2f}s")
    return 0 if len(every) == tokens else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tokens", type=int, default=60)
    p.add_argument("--interval", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    started = time.monotonic()
    code = asyncio.run(run(a.tokens, a.interval, a.seed))
    print(f"wall time {time.monotonic() - started:.0f}s")
    return code


if __name__ == "__main__":
    sys.exit(main())
