"""Delivery while hostile sources attack: benign tokens' leak → webhook latency, /healthz, RSS.

    python bench/hostile.py [--tokens 10] [--spread 30] [--json FILE]

The sandbox of ``sources/fakes`` and the reference receiver run in this process; the real daemon
runs as ``python -m crawler run`` at 1 s polling with the default limits. Two hostile paste sites
(:mod:`sources.fakes.hostile`) join its config: one answers 150,000 nested ``<div>`` s (over
a minute of parsing) and then a 40 MB page, the other 10,000 links, a redirect loop, a body trickled
one byte every half second, then ``Retry-After: 1e20``. Meanwhile ``--tokens`` live tokens per benign
source are published at random moments over ``--spread`` seconds.

It prints the benign tokens' publication → first arrival at the receiver's hook per source (every
percentile with its sample count) and the share within 5 s, the daemon's ``/healthz`` answer times
(sampled every 0.25 s), the peak RSS of the daemon and its worker processes (the same samples), and
what the hostile sites served.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    SOURCES,
    Daemon,
    Receiver,
    machine,
    percentile,
    publish,
    rss,
    summary_row,
    wait_for,
)
from crawler.demo.sandbox import Sandbox
from sources.fakes.hostile import HostilePasteSite

WITHIN = 5.0


async def run(tokens: int, spread: float, seed: int) -> dict[str, float]:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="lp-hostile-") as tmp:
        folder = Path(tmp)
        async with Sandbox(poll_interval=1.0) as sb, Receiver(folder) as receiver, \
                HostilePasteSite("nested", "huge") as heavy, \
                HostilePasteSite("links", "loop", "trickle", "retry_after") as stalling:
            daemon = Daemon(sb, receiver, folder)
            with daemon.config.open("a", encoding="utf-8") as f:
                f.write(heavy.table("hostile-heavy") + stalling.table("hostile-stalling"))
            daemon.start()
            assert daemon.proc is not None
            await daemon.ready(len(SOURCES), timeout=60)
            plan = sorted((rng.uniform(0, spread), source) for source in SOURCES for _ in range(tokens))
            published: dict[str, tuple[str, float]] = {}
            health: list[float] = []
            peak = 0
            start = time.monotonic()

            async def sample() -> None:
                nonlocal peak
                while True:
                    peak = max(peak, rss(daemon.proc.pid))  # type: ignore[union-attr]
                    began = time.monotonic()
                    try:
                        await daemon.get("/healthz")
                        health.append(time.monotonic() - began)
                    except Exception:  # a timed-out probe counts as its 5 s timeout
                        health.append(5.0)
                    await asyncio.sleep(0.25)

            sampler = asyncio.ensure_future(sample())
            try:
                for n, (at, source) in enumerate(plan):
                    await asyncio.sleep(max(0.0, start + at - time.monotonic()))
                    tok = sb.mint()
                    published[tok] = (source, publish(sb, source, f"TOKEN={tok}\n", n).published_at)
                await wait_for(lambda: set(published) <= set(receiver.arrivals), 60, "every benign token")
            finally:
                sampler.cancel()
                code = daemon.stop()
    by_source: dict[str, list[float]] = {}
    for tok, (source, at) in published.items():
        by_source.setdefault(source, []).append(receiver.arrivals.get(tok, float("inf")) - at)
    every = [v for values in by_source.values() for v in values]
    on_time = sum(v <= WITHIN for v in every)
    print(machine())
    print(f"\nbenign tokens: {len(every)} ({tokens} per source over {spread:.0f}s); publication → hook, seconds")
    print(f"{'source':<18} {'n':>4} {'p50 s':>7} {'p90 s':>7} {'p99 s':>7} {'mean s':>7} {'max s':>7}")
    for source, values in sorted(by_source.items()):
        print(summary_row(source, [v for v in values if v != float("inf")]))
    print(summary_row("all", [v for v in every if v != float("inf")]))
    print(f"within {WITHIN:.0f}s: {on_time}/{len(every)} ({100 * on_time / len(every):.1f} %); "
          f"never arrived: {sum(v == float('inf') for v in every)}")
    print(f"/healthz answer time over {len(health)} samples: p50 {percentile(health, 50) * 1000:.1f} ms, "
          f"max {max(health) * 1000:.1f} ms")
    print(f"peak RSS, daemon + workers, over {len(health)} samples: {peak / 2**20:.0f} MB")
    print(f"hostile-heavy served: {heavy.requests}; hostile-stalling served: {stalling.requests}, "
          f"{stalling.raw} raw pastes; daemon exit code after SIGTERM: {code}")
    return {"n": len(every), "on_time": on_time, "p50": percentile(every, 50), "p90": percentile(every, 90),
            "peak_mb": peak / 2**20, "health_max_ms": max(health) * 1000, "health_n": len(health)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=10, help="live tokens per benign source")
    parser.add_argument("--spread", type=float, default=30.0, help="seconds over which they are published")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON (for bench/all.py)")
    args = parser.parse_args()
    r = asyncio.run(run(args.tokens, args.spread, args.seed))
    if args.json:
        command = f"python bench/hostile.py --tokens {args.tokens} --spread {args.spread:g}"
        Path(args.json).write_text(json.dumps({"figures": [
            {"figure": "Benign delivery while hostile sources attack",
             "value": f"{r['on_time']:.0f}/{r['n']:.0f} within {WITHIN:g} s; p50 {r['p50']:.2f} s, "
                      f"p90 {r['p90']:.2f} s",
             "measures": "publication → reference receiver's hook for the benign sources' live tokens while two "
                         "hostile paste sites attack (nested tags, 40 MB page, 10,000 links, redirect loop, "
                         "trickled body, Retry-After 1e20)",
             "input": "the loopback sandbox, 1 s polling, default limits", "n": f"{r['n']:.0f} tokens",
             "command": command},
            {"figure": "Daemon under hostile sources: peak RSS, /healthz",
             "value": f"{r['peak_mb']:.0f} MB (daemon + workers); /healthz max {r['health_max_ms']:.0f} ms",
             "measures": "RSS of the daemon and its worker processes; /healthz answer time, sampled every 0.25 s",
             "input": "the same run", "n": f"{r['health_n']:.0f} samples", "command": command}]},
            indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
