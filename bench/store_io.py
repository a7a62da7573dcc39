"""How the daemon should reach the database without blocking its event loop: measured, not guessed.

Three ways to run the store's typical write (one token upsert: SELECT by fingerprint, INSERT, COMMIT,
then a sighting INSERT + COMMIT) from asyncio, with ``--tasks`` concurrent writers and a ticker task
that measures how late the loop wakes it (loop lag: what every other source, ``/healthz`` and the
delivery job would feel):

* ``on-loop``: today's synchronous SQLAlchemy calls made directly on the loop;
* ``thread×1`` / ``thread×4``: the same synchronous calls through a pool of one or four threads
  (``run_in_executor``);
* ``async``: SQLAlchemy's asyncio engine (aiosqlite on SQLite, psycopg's async mode on PostgreSQL).

Each variant runs on real SQLite (WAL, a file) and, when reachable, real PostgreSQL on loopback.
Prints operations/s and the loop lag (max and p99 over the ticks, sample size named).

    python bench/store_io.py [--ops 2000] [--tasks 8] [--pg postgresql+psycopg://127.0.0.1/test]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, event, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import machine

META = MetaData()
TOKENS = Table("bench_token", META, Column("id", Integer, primary_key=True),
               Column("fingerprint", String(64), unique=True, nullable=False), Column("value", String(200)))
SIGHTINGS = Table("bench_sighting", META, Column("id", Integer, primary_key=True),
                  Column("token_id", Integer, nullable=False), Column("url", String(300)))


def _pragmas(conn: Any, _: Any) -> None:
    cur = conn.cursor()
    for pragma in ("journal_mode=WAL", "busy_timeout=10000", "synchronous=NORMAL"):
        cur.execute(f"PRAGMA {pragma}")
    cur.close()


def fp(i: int, run: str) -> str:
    return hashlib.sha256(f"{run}:{i}".encode()).hexdigest()


def sync_write(engine: Any, fingerprint: str) -> None:
    with engine.connect() as conn:
        row = conn.execute(select(TOKENS.c.id).where(TOKENS.c.fingerprint == fingerprint)).first()
        if row is None:
            try:
                token_id = conn.execute(insert(TOKENS).values(fingerprint=fingerprint, value="x" * 120)
                                        ).inserted_primary_key[0]
                conn.commit()
            except IntegrityError:
                conn.rollback()
                token_id = conn.execute(select(TOKENS.c.id).where(TOKENS.c.fingerprint == fingerprint)).scalar_one()
        else:
            token_id = row[0]
        conn.execute(insert(SIGHTINGS).values(token_id=token_id, url="https://example.test/" + fingerprint[:12]))
        conn.commit()


async def async_write(engine: Any, fingerprint: str) -> None:
    async with engine.connect() as conn:
        row = (await conn.execute(select(TOKENS.c.id).where(TOKENS.c.fingerprint == fingerprint))).first()
        if row is None:
            try:
                res = await conn.execute(insert(TOKENS).values(fingerprint=fingerprint, value="x" * 120))
                token_id = res.inserted_primary_key[0]
                await conn.commit()
            except IntegrityError:
                await conn.rollback()
                token_id = (await conn.execute(select(TOKENS.c.id).where(TOKENS.c.fingerprint == fingerprint))
                            ).scalar_one()
        else:
            token_id = row[0]
        await conn.execute(insert(SIGHTINGS).values(token_id=token_id, url="https://example.test/" + fingerprint[:12]))
        await conn.commit()


async def measure(write: Callable[[str], Awaitable[None]], ops: int, tasks: int, run: str) -> tuple[float, list[float]]:
    lags: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        period = 0.005
        while not stop.is_set():
            t0 = time.perf_counter()
            await asyncio.sleep(period)
            lags.append(max(0.0, time.perf_counter() - t0 - period))

    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(ops):
        queue.put_nowait(i)

    async def worker() -> None:
        while True:
            try:
                i = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            await write(fp(i, run))

    tick = asyncio.create_task(ticker())
    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(tasks)))
    elapsed = time.perf_counter() - start
    stop.set()
    await tick
    return ops / elapsed, lags


def lag_text(lags: list[float]) -> str:
    ordered = sorted(lags)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] if len(ordered) >= 100 else None
    p99_text = f"p99 {p99 * 1000:7.1f} ms" if p99 is not None else "p99 n/a (<100 ticks)"
    median = statistics.median(ordered) * 1000
    return f"loop lag max {max(ordered) * 1000:7.1f} ms, {p99_text}, median {median:5.2f} ms (n={len(ordered)} ticks)"


async def run_backend(name: str, sync_url: str, async_url: str, ops: int, tasks: int) -> None:
    sync_engine = create_engine(sync_url, pool_size=tasks, max_overflow=0,
                                **({"connect_args": {"check_same_thread": False, "timeout": 10}}
                                   if sync_url.startswith("sqlite") else {}))
    if sync_url.startswith("sqlite"):
        event.listen(sync_engine, "connect", _pragmas)
    META.drop_all(sync_engine)
    META.create_all(sync_engine)
    async_engine = create_async_engine(async_url, pool_size=tasks, max_overflow=0)
    if async_url.startswith("sqlite"):
        event.listen(async_engine.sync_engine, "connect", _pragmas)
    pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="store")
    single = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store1")
    loop = asyncio.get_running_loop()

    async def on_loop(f: str) -> None:
        sync_write(sync_engine, f)

    async def thread(f: str) -> None:
        await loop.run_in_executor(pool, sync_write, sync_engine, f)

    async def thread1(f: str) -> None:
        await loop.run_in_executor(single, sync_write, sync_engine, f)

    async def native(f: str) -> None:
        await async_write(async_engine, f)

    print(f"\n{name}: {ops} writes (token upsert + sighting, 2 commits), {tasks} concurrent tasks")
    for label, fn in (("on-loop  ", on_loop), ("thread×1 ", thread1), ("thread×4 ", thread), ("async    ", native)):
        rate, lags = await measure(fn, ops, tasks, uuid.uuid4().hex)
        print(f"  {label}  {rate:8.0f} writes/s   {lag_text(lags)}")
    pool.shutdown()
    single.shutdown()
    await async_engine.dispose()
    with sync_engine.connect() as conn:
        META.drop_all(conn)
        conn.commit()
    sync_engine.dispose()


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ops", type=int, default=2000)
    ap.add_argument("--tasks", type=int, default=8)
    ap.add_argument("--pg", default=os.environ.get("LEAKPATROL_TEST_PG", "postgresql+psycopg://127.0.0.1:5432/test"))
    args = ap.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        await run_backend("SQLite (WAL, file)", f"sqlite:///{db}", f"sqlite+aiosqlite:///{db}", args.ops, args.tasks)
    try:
        probe = create_engine(args.pg)
        with probe.connect() as conn:
            conn.execute(text("SELECT 1"))
        probe.dispose()
    except Exception as exc:
        print(f"\nPostgreSQL at {args.pg}: not reachable ({type(exc).__name__}); skipped")
        return
    await run_backend("PostgreSQL (loopback)", args.pg, args.pg, args.ops, args.tasks)


if __name__ == "__main__":
    asyncio.run(main())
