"""Leak-to-webhook latency: publish → signed webhook accepted, at 1 s polling.

    python bench/latency.py [--per-source 200] [--interval 1] [--seed 1]
                            [--store sqlite|postgresql] [--db-delay-ms 5] [--json FILE]

A loopback sandbox (fake GitHub events and gists, GitLab snippets, Pastebin and an HTML paste site)
and the reference receiver run in this process; the real daemon runs as ``python -m crawler run``.
``--per-source`` live tokens per source (200 by default, so that each source's p99 rests on at least
200 samples) are published one at a time, 0.05–0.6 s apart (uniform), each to a source drawn from a
shuffled deck that holds every source equally often; the latency of each is the sandbox's
publication time (``Published.published_at``) to the receiver's first arrival of its webhook. Every
percentile is printed with its sample count; below 100 samples the p99 column is left empty and the
maximum is the figure to read. Target (README): p50 ≤ 1.0 s, p99 ≤ 2.0 s.

``--store postgresql`` puts the daemon's store in a fresh schema of the PostgreSQL at
``$LEAKPATROL_TEST_PG`` (default 127.0.0.1:5432/test), reached through a loopback TCP proxy that adds
``--db-delay-ms`` (default 5) in each direction: a database in the next rack, not on the same host.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import SOURCES, SUMMARY_HEADER, Daemon, Receiver, machine, percentile, publish, summary_row, wait_for
from bench.delayproxy import DelayProxy
from crawler.demo.sandbox import Sandbox

PG_URL = os.environ.get("LEAKPATROL_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextlib.asynccontextmanager
async def store_url(store: str, folder: Path, delay_ms: float) -> AsyncIterator[str | None]:
    """``None`` for the config's SQLite; else a fresh PostgreSQL schema behind the delay proxy."""
    if store == "sqlite":
        yield None
        return
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(PG_URL)
    libpq = url.set(drivername="postgresql").render_as_string(hide_password=False)
    schema = "lp_bench_" + uuid.uuid4().hex[:12]
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        async with DelayProxy(url.host or "127.0.0.1", url.port or 5432, delay=delay_ms / 1000) as port:
            proxied = url.set(host="127.0.0.1", port=port, query={**url.query, "options": f"-csearch_path={schema}"})
            yield proxied.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(libpq, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def use_store(config: Path, url: str) -> None:
    """Point the written config's ``[storage] url`` at ``url``."""
    lines = config.read_text("utf-8").splitlines()
    section = ""
    for i, line in enumerate(lines):
        if line.startswith("["):
            section = line.strip()
        elif section == "[storage]" and line.startswith("url = "):
            lines[i] = f"url = {json.dumps(url)}"
    config.write_text("\n".join(lines) + "\n", "utf-8")


async def run(per_source: int, interval: float, seed: int, store: str, delay_ms: float,
              json_path: str | None) -> int:
    rng = random.Random(seed)
    deck = [s for s in SOURCES for _ in range(per_source)]
    rng.shuffle(deck)
    tokens = len(deck)
    with tempfile.TemporaryDirectory(prefix="lp-latency-") as tmp:
        folder = Path(tmp)
        async with (Sandbox(poll_interval=interval) as sb, Receiver(folder) as receiver,
                    store_url(store, folder, delay_ms) as url):
            daemon = Daemon(sb, receiver, folder, f"{interval:g}s")
            if url is not None:
                use_store(daemon.config, url)
            daemon.start()
            try:
                await daemon.ready(len(SOURCES))
                planted: list[tuple[str, str, float]] = []
                for n, source in enumerate(deck):
                    await asyncio.sleep(rng.uniform(0.05, 0.6))
                    tok = sb.mint()
                    pub = publish(sb, source, f"# settings\nAPI_TOKEN={tok}\n", n)
                    planted.append((source, tok, pub.published_at))
                await wait_for(lambda: all(t in receiver.arrivals for _, t, _ in planted), 120, "every webhook")
                server_side = await daemon.metric("leakpatrol_leak_to_notify_seconds_sum")
            finally:
                code = await asyncio.to_thread(daemon.stop)
    by_source: dict[str, list[float]] = defaultdict(list)
    for source, tok, at in planted:
        if tok in receiver.arrivals:
            by_source[source].append(receiver.arrivals[tok] - at)
    every = [v for vs in by_source.values() for v in vs]
    print("leakpatrol bench/latency.py: publish → webhook arrival at the reference receiver")
    print(machine())
    where = "SQLite (file)" if store == "sqlite" else f"PostgreSQL behind a +{delay_ms:g} ms/direction TCP proxy"
    print(f"poll interval {interval:g}s, {tokens} live tokens ({per_source} per source) published 0.05-0.6 s apart, "
          f"seed {seed}, store {where}, daemon exit code {code}")
    print(SUMMARY_HEADER)
    for source in SOURCES:
        print(summary_row(source, by_source.get(source, [])))
    print(summary_row("overall", every))
    print(f"delivered {len(every)}/{tokens}; daemon's own leak_to_notify mean "
          f"{server_side / max(1, len(every)):.2f}s")
    if json_path:
        figures = [{
            "figure": f"Leak → webhook, {name}, store {store}",
            "value": (f"p50 {percentile(vs, 50):.2f} s, p99 {percentile(vs, 99):.2f} s, max {max(vs):.2f} s"
                      if len(vs) >= 100 else f"p50 {percentile(vs, 50):.2f} s, max {max(vs):.2f} s (no p99: n < 100)"),
            "measures": "publication at the loopback sandbox → signed webhook accepted by the reference receiver, "
                        f"real daemon polling every {interval:g} s",
            "input": f"{per_source} live tokens per source, 0.05-0.6 s apart, seed {seed}",
            "n": f"n = {len(vs)} of {per_source if name != 'overall' else tokens}",
            "command": f"python bench/latency.py --per-source {per_source} --store {store}"}
            for name, vs in [("overall", every)] + [(s, by_source.get(s, [])) for s in SOURCES] if vs]
        Path(json_path).write_text(json.dumps({"figures": figures}, indent=2), encoding="utf-8")
    return 0 if len(every) == tokens else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--per-source", type=int, default=200, help="live tokens per source (default 200)")
    p.add_argument("--interval", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--store", choices=["sqlite", "postgresql"], default="sqlite")
    p.add_argument("--db-delay-ms", type=float, default=5.0, help="added by the proxy in each direction")
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON (for bench/all.py)")
    a = p.parse_args()
    started = time.monotonic()
    code = asyncio.run(run(a.per_source, a.interval, a.seed, a.store, a.db_delay_ms, a.json))
    print(f"wall time {time.monotonic() - started:.0f}s")
    return code


if __name__ == "__main__":
    sys.exit(main())
