"""Leak-to-webhook latency: publish → signed webhook accepted, at 1 s polling.

    python bench/latency.py [--tokens 60] [--interval 1] [--seed 1]
                            [--store sqlite|postgresql] [--db-delay-ms 5]

A loopback sandbox (fake GitHub events and gists, GitLab snippets, Pastebin and an HTML paste site)
and the reference receiver run in this process; the real daemon runs as ``python -m crawler run``.
Live tokens are published at random moments across the sources; the latency of each is the
sandbox's publication time (``Published.published_at``) to the receiver's first arrival of its
webhook. Target (README): p50 ≤ 1.0 s, p99 ≤ 2.0 s.

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

from bench.common import SOURCES, Daemon, Receiver, machine, publish, summary_row, wait_for
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


async def run(tokens: int, interval: float, seed: int, store: str, delay_ms: float) -> int:
    rng = random.Random(seed)
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
                for n in range(tokens):
                    await asyncio.sleep(rng.uniform(0.05, 0.6))
                    source = rng.choice(SOURCES)
                    tok = sb.mint()
                    pub = publish(sb, source, f"# settings\nAPI_TOKEN={tok}\n", n)
                    planted.append((source, tok, pub.published_at))
                await wait_for(lambda: all(t in receiver.arrivals for _, t, _ in planted), 60, "every webhook")
                server_side = await daemon.metric("leakpatrol_leak_to_notify_seconds_sum")
            finally:
                code = await asyncio.to_thread(daemon.stop)
    per_source: dict[str, list[float]] = defaultdict(list)
    for source, tok, at in planted:
        if tok in receiver.arrivals:
            per_source[source].append(receiver.arrivals[tok] - at)
    every = [v for vs in per_source.values() for v in vs]
    print("leakpatrol bench/latency.py: publish → webhook arrival at the reference receiver")
    print(machine())
    where = "SQLite (file)" if store == "sqlite" else f"PostgreSQL behind a +{delay_ms:g} ms/direction TCP proxy"
    print(f"poll interval {interval:g}s, {tokens} live tokens at random moments, seed {seed}, store {where}, "
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
    p.add_argument("--store", choices=["sqlite", "postgresql"], default="sqlite")
    p.add_argument("--db-delay-ms", type=float, default=5.0, help="added by the proxy in each direction")
    a = p.parse_args()
    started = time.monotonic()
    code = asyncio.run(run(a.tokens, a.interval, a.seed, a.store, a.db_delay_ms))
    print(f"wall time {time.monotonic() - started:.0f}s")
    return code


if __name__ == "__main__":
    sys.exit(main())
