"""Coverage of public GitHub pushes: the events feed alone, then with GH Archive, under a request budget.

    python bench/coverage.py [--rate 20] [--hours 2] [--scale 120] [--noise 59] [--json FILE]

A loopback firehose plays GitHub with its real limits scaled in time (``--scale`` virtual seconds
per real second; 120: an hour lasts 30 s): ``/events`` holds the last 300 events and asks for
``X-Poll-Interval: 60``; every push is one of ``--noise`` + 1 events, as on GitHub where most events
are not pushes; the hourly archive (``/archive/YYYY-MM-DD-H.json.gz``) is published 5 minutes after
its hour ends; each credential has a request budget per hour (``X-RateLimit-*``, 403 once spent).
``--rate`` pushes a (real) second, one in ``--plant-every`` carrying a minted token. The engine is
leakpatrol's own (sources, fetch queue, pipeline, outbox to the reference receiver) on a clock
running at the same scale; "two daemons" are two engines with their own store connections and
owner ids in this process, on one PostgreSQL.

Scenarios: feed alone; feed + archive with budget to spare; a budget for half the pushes (queue
bound ``--bound``); two daemons on PostgreSQL. Coverage = distinct pushes whose compare was fetched
/ pushes published, over whole hours.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import hashlib
import itertools
import json
import statistics
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Receiver, machine
from crawler.demo.sandbox import DEMO_RULE
from crawler.detect.mint import mint
from crawler.detect.rules import compile_rule
from crawler.engine.pipeline import Engine
from crawler.engine.polling import SourceRunner
from crawler.kernel.retry import RetryPolicy
from crawler.kernel.serve import AppServer
from crawler.plugins import build_config
from crawler.store.crypto import Cipher
from crawler.store.database import open_store

HOUR = 3600.0
WINDOW = 300
POLL = 60
ARCHIVE_DELAY = 300.0
SHIFT = 1800.0
"""Budget windows start half an hour after the archive's hours (GitHub's reset is per credential, not
on the hour), so a run's cut-off, just after its last archive hour, falls inside a window."""
TOKENS = {"BENCH_GH_A": "bench-credential-a", "BENCH_GH_B": "bench-credential-b"}


class Clock:
    """Virtual time: ``scale`` virtual seconds per real second, starting at a whole hour."""

    def __init__(self, scale: float) -> None:
        self.scale, self.t0 = scale, time.monotonic()
        self.v0 = (int(time.time() // HOUR) + 1) * HOUR  # the next whole hour: hours are whole from the start

    def epoch(self) -> float:
        return self.v0 + (time.monotonic() - self.t0) * self.scale

    def __call__(self) -> datetime:
        return datetime.fromtimestamp(self.epoch(), UTC)

    async def sleep(self, virtual: float) -> None:
        await asyncio.sleep(virtual / self.scale)


def hour_name(ts: float) -> str:
    return f"{datetime.fromtimestamp(ts, UTC):%Y-%m-%d}-{datetime.fromtimestamp(ts, UTC).hour}"


@dataclass
class Firehose:
    clock: Clock
    budget: int
    """Requests per credential per virtual hour."""
    noise: int
    plant_every: int
    events: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=WINDOW))
    hours: dict[str, list[bytes]] = field(default_factory=dict)
    gz: dict[str, bytes] = field(default_factory=dict)
    pushes: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    compares: Counter[tuple[str, str]] = field(default_factory=Counter)
    used: Counter[tuple[str, int]] = field(default_factory=Counter)
    forbidden: int = 0
    planted: list[str] = field(default_factory=list)
    ids: Any = field(default_factory=lambda: itertools.count(50_000_000_000))
    listings: int = 0
    count: int = 0

    def emit(self, pushes: int, rule: Any) -> None:
        now = self.clock.epoch()
        at = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for _ in range(pushes):
            n = next(self.ids)
            repo_id = 900_000_000 + n % 100_000
            name = f"org{repo_id % 97}/repo{repo_id}"
            head = hashlib.sha1(str(n).encode()).hexdigest()
            self.count += 1
            token = mint(rule) if self.count % self.plant_every == 0 else None
            if token:
                self.planted.append(token)
            self.pushes[(name, head)] = {"token": token, "published": now}
            self._add({"id": str(n), "type": "PushEvent", "actor": {"login": f"dev{n % 1000}"},
                       "repo": {"id": repo_id, "name": name, "url": f"https://api.github.com/repos/{name}"},
                       "payload": {"repository_id": repo_id, "push_id": n, "ref": "refs/heads/main",
                                   "head": head, "before": hashlib.sha1(str(-n).encode()).hexdigest()},
                       "public": True, "created_at": at}, now)
            for _ in range(self.noise):
                self._add({"id": str(next(self.ids)), "type": "WatchEvent", "actor": {"login": "fan"},
                           "repo": {"id": repo_id, "name": name}, "payload": {"action": "started"},
                           "public": True, "created_at": at}, now)

    def _add(self, event: dict[str, Any], now: float) -> None:
        self.events.appendleft(event)
        self.hours.setdefault(hour_name(now), []).append(json.dumps(event, separators=(",", ":")).encode() + b"\n")

    def charge(self, request: Request) -> Response | dict[str, str]:
        """The budget of the request's credential: its headers, or the 403 GitHub sends once spent."""
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        window = int((self.clock.epoch() - self.clock.v0 - SHIFT) // HOUR)
        reset = int(self.clock.v0 + SHIFT + (window + 1) * HOUR)
        used = self.used[(token, window)]
        headers = {"X-RateLimit-Limit": str(self.budget), "X-RateLimit-Resource": "core",
                   "X-RateLimit-Reset": str(reset)}
        if used >= self.budget:
            self.forbidden += 1
            return JSONResponse({"message": "API rate limit exceeded"}, 403,
                                {**headers, "X-RateLimit-Remaining": "0", "X-RateLimit-Used": str(used)})
        self.used[(token, window)] = used + 1
        return {**headers, "X-RateLimit-Remaining": str(self.budget - used - 1), "X-RateLimit-Used": str(used + 1)}

    async def list_events(self, request: Request) -> Response:
        page = int(request.query_params.get("page", "1"))
        events = list(self.events)
        etag = f'W/"{events[0]["id"] if events else 0}-{page}"'
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"ETag": etag, "X-Poll-Interval": str(POLL)})
        headers = self.charge(request)
        if isinstance(headers, Response):
            return headers
        self.listings += 1
        data = events[(page - 1) * 100: page * 100]
        extra = {"ETag": etag, "X-Poll-Interval": str(POLL)}
        if page * 100 < len(events):
            extra["Link"] = f'<{request.url.replace(query=f"per_page=100&page={page + 1}")}>; rel="next"'
        return JSONResponse(data, headers={**headers, **extra})

    async def compare(self, request: Request) -> Response:
        headers = self.charge(request)
        if isinstance(headers, Response):
            return headers
        name = f"{request.path_params['owner']}/{request.path_params['repo']}"
        head = str(request.path_params["basehead"]).partition("...")[2]
        push = self.pushes.get((name, head))
        if push is None:
            return JSONResponse({"message": "Not Found"}, 404, headers)
        self.compares[(name, head)] += 1
        line = f"API_KEY={push['token']}" if push["token"] else "nothing=here"
        return JSONResponse({"html_url": f"https://github.com/{name}/compare/{head}", "total_commits": 1,
                             "commits": [{"sha": head}], "files": [
                                 {"filename": "config.env", "status": "modified", "patch": f"@@ -0,0 +1 @@\n+{line}"}]},
                            headers=headers)

    async def archive(self, request: Request) -> Response:
        name = str(request.path_params["hour"])
        start = datetime.strptime(name.rsplit("-", 1)[0], "%Y-%m-%d").replace(tzinfo=UTC).timestamp() \
            + int(name.rsplit("-", 1)[1]) * HOUR
        if self.clock.epoch() < start + HOUR + ARCHIVE_DELAY:
            return Response(b"<Error><Code>NoSuchKey</Code></Error>", 404)
        if name not in self.gz:
            self.gz[name] = await asyncio.to_thread(gzip.compress, b"".join(self.hours.get(name, [])), 1)
        return Response(self.gz[name], media_type="application/gzip")

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/events", self.list_events),
                                 Route("/repos/{owner}/{repo}/compare/{basehead:path}", self.compare),
                                 Route("/archive/{hour}.json.gz", self.archive)])


def config(url: str, store: str, sources: list[str], receiver: Receiver, folder: Path, bound: int) -> Any:
    github = {"api_url": url, "token_env": "BENCH_GH_A", "token_envs": ["BENCH_GH_B"], "interval": f"{POLL}s",
              "max_queued": bound}
    tables = {"github_events": github, "gharchive": {**github, "archive_url": f"{url}/archive", "backfill_hours": 0}}
    rule = DEMO_RULE.model_dump(exclude_none=True) | {"verifier": None}
    return build_config({
        "storage": {"url": store, "key_file": str(folder / "lp.key")},
        "scanner": {"builtin_rules": False}, "rules": [{k: v for k, v in rule.items() if v is not None}],
        "notifiers": [{"id": "bench", "kind": "webhook", "url": receiver.url, "secret_env": "BENCH_WEBHOOK_SECRET",
                       "on": ["unknown", "live"]}],
        "sources": {k: tables[k] for k in sources}})


@asynccontextmanager
async def daemon(cfg: Any, clock: Clock, owner: str, stop: asyncio.Event,
                 depth: dict[str, int]) -> AsyncIterator[Engine]:
    store = open_store(cfg.database_url(), Cipher(bytes(32)))
    policy = RetryPolicy(clock=clock.epoch, sleep=clock.sleep)
    async with Engine(cfg, store, owner=owner, clock=clock) as engine, AsyncExitStack() as stack:
        runners = [SourceRunner(engine, spec, stack, policy) for spec in cfg.source_specs]

        async def polls() -> None:
            while not stop.is_set():
                for r in runners:
                    if await r.due(clock()):
                        await r.poll(drain=0)
                await asyncio.sleep(0.01)

        async def drains(r: SourceRunner) -> None:
            while not stop.is_set():
                await r.drain(seconds=0.5)
                now = (await engine.db(store.fetch_queue_stats, [r.name])).depth
                depth[r.name] = max(depth.get(r.name, 0), now)
                await asyncio.sleep(0.01)

        tasks = [asyncio.create_task(polls()), *(asyncio.create_task(drains(r)) for r in runners)]
        try:
            yield engine
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            await engine.settle()
    store.close()


@dataclass
class Outcome:
    name: str
    pushes: int
    fetched: int
    realtime: int
    backfill_delays: list[float]
    planted: int
    notified: int
    forbidden: int
    max_depth: dict[str, int]
    twice: int
    per_daemon: list[int]
    seconds: float
    windows: int
    bound: int
    dropped: int
    budget_share: float
    """(requests the credentials allowed over the run − listing requests) / pushes, in %."""

    @property
    def coverage(self) -> float:
        return 100.0 * self.fetched / max(1, self.pushes)

    def line(self) -> str:
        delay = (f", archive delay median {statistics.median_low(self.backfill_delays) / 60:.0f} virtual min "
                 f"(n = {len(self.backfill_delays)})" if self.backfill_delays else "")
        daemons = f", fetches per daemon {self.per_daemon}" if len(self.per_daemon) > 1 else ""
        return (f"{self.name}: coverage {self.coverage:.1f} % ({self.fetched}/{self.pushes} pushes; the budget "
                f"of the run's {self.windows} rate-limit windows, less the listing, paid for "
                f"{self.budget_share:.0f} % of them), real-time share "
                f"{100.0 * self.realtime / max(1, self.pushes):.1f} %{delay}; planted tokens notified "
                f"{self.notified}/{self.planted}; 403 received {self.forbidden}; queue depth max "
                f"{', '.join(f'{k} {v}' for k, v in self.max_depth.items()) or '0'} (bound {self.bound} a source), "
                f"dropped {self.dropped}; "
                f"pushes fetched twice {self.twice}{daemons}; {self.seconds:.0f} s")


async def scenario(name: str, *, sources: list[str], budget: int, daemons: int, store: str, a: argparse.Namespace,
                   folder: Path) -> Outcome:
    clock = Clock(a.scale)
    hose = Firehose(clock, budget, a.noise, a.plant_every)
    rule = compile_rule(DEMO_RULE)
    server = AppServer(hose.app())
    url = await server.start()
    started = time.monotonic()
    depth: dict[str, int] = {}
    async with Receiver(folder) as receiver, AsyncExitStack() as stack:
        import os
        os.environ.update({**TOKENS, "BENCH_WEBHOOK_SECRET": receiver.secret})
        cfg = config(url, store, sources, receiver, folder, a.bound)
        stop = asyncio.Event()
        engines = [await stack.enter_async_context(daemon(cfg, clock, f"bench-{i}:{i}", stop, depth))
                   for i in range(daemons)]
        while clock.epoch() < clock.v0 + 60:  # the clock starts a minute before the first push hour
            await asyncio.sleep(0.05)
        first = clock.epoch()
        end = first + a.hours * HOUR
        carry = 0.0
        while clock.epoch() < end:
            carry += a.rate * 0.05
            hose.emit(int(carry), rule)
            carry -= int(carry)
            await asyncio.sleep(0.05)
        pushes = len(hose.pushes)
        archived = end + HOUR - (end - clock.v0) % HOUR + ARCHIVE_DELAY if "gharchive" in sources else end
        cutoff = archived + 4 * POLL  # every source has had its last hour; then the run is measured
        deadline = time.monotonic() + a.settle
        while time.monotonic() < deadline and clock.epoch() < cutoff:
            await asyncio.sleep(0.2)
        await wait_notified(receiver, hose, min(10.0, max(0.0, deadline - time.monotonic())))
        per_daemon = [int(sum(s.value for s in e.metrics.pushes_fetched.collect()[0].samples
                              if s.name.endswith("_total"))) for e in engines]
        rows = engines[0].store.fetch_items()
        stop.set()
    await server.stop()
    windows = len({w for _, w in hose.used})
    share = 100.0 * (budget * len(TOKENS) * windows - hose.listings) / max(1, pushes)
    realtime = sum(1 for r in rows if r.status == "done" and r.lane == "realtime")
    delays = [(r.fetched_at - r.published_at).total_seconds() for r in rows
              if r.status == "done" and r.lane == "backfill" and r.fetched_at and r.published_at]
    return Outcome(name, pushes, len(hose.compares), realtime, delays, len(hose.planted),
                   sum(1 for t in hose.planted if t in receiver.arrivals), hose.forbidden,
                   dict(depth),
                   sum(1 for n in hose.compares.values() if n > 1), per_daemon, time.monotonic() - started,
                   windows, a.bound, sum(1 for r in rows if r.status == "dropped"), share)


async def wait_notified(receiver: Receiver, hose: Firehose, seconds: float) -> None:
    """Until every planted token whose push was fetched has reached the receiver (or ``seconds``)."""
    fetched = {p["token"] for k, p in hose.pushes.items() if p["token"] and hose.compares[k]}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not fetched <= set(receiver.arrivals):
        await asyncio.sleep(0.1)


async def run(a: argparse.Namespace) -> int:
    per_hour = int(a.rate * HOUR / a.scale)
    listing = 3 * int(HOUR / POLL)  # the feed's three pages a poll, every poll
    plenty = 10 * (per_hour + listing)
    # The run spans its push hours plus about an hour (the last archive hour, published 5 min late), in
    # hours + 2 budget windows: the two credentials together get half the pushes plus the listing over it.
    half = int((per_hour * a.hours / 2 + listing * (a.hours + 1.2)) / (2 * (a.hours + 2)))
    print("leakpatrol bench/coverage.py: share of public pushes fetched, events feed and GH Archive")
    print(machine())
    print(f"firehose {a.rate:g} pushes/s real ({per_hour} per virtual hour), {a.noise} other events per push, "
          f"time x{a.scale:g} (an hour = {HOUR / a.scale:.0f} s), window {WINDOW} events, X-Poll-Interval {POLL} s, "
          f"archive {ARCHIVE_DELAY / 60:.0f} min after its hour, {a.hours} hour(s) of pushes, one push in "
          f"{a.plant_every} planted, 2 credentials, queue bound {a.bound} per source")
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="lp-coverage-") as tmp:
        runs: list[tuple[str, dict[str, Any]]] = [
            ("feed alone", {"sources": ["github_events"], "budget": plenty, "daemons": 1}),
            ("feed + archive, budget to spare", {"sources": ["github_events", "gharchive"], "budget": plenty,
                                                "daemons": 1}),
            (f"feed + archive, a budget sized for half the pushes ({half}/h per credential)",
             {"sources": ["github_events", "gharchive"], "budget": half, "daemons": 1})]
        if a.pg:
            runs.append(("two daemons on PostgreSQL, feed + archive", {
                "sources": ["github_events", "gharchive"], "budget": plenty, "daemons": 2}))
        for n, (name, kw) in enumerate(runs):
            folder = Path(tmp) / f"s{n}"
            folder.mkdir()
            if kw["daemons"] > 1:
                from tests.pg import pg_schema
                with pg_schema() as (url, _):
                    out = await scenario(name, store=url, a=a, folder=folder, **kw)
            else:
                out = await scenario(name, store=f"sqlite:///{folder / 'lp.db'}", a=a, folder=folder, **kw)
            print(out.line(), flush=True)
            outcomes.append(out)
    if a.json:
        Path(a.json).write_text(json.dumps({"figures": [{
            "figure": f"Coverage, {o.name}", "value": f"{o.coverage:.1f} % of pushes fetched",
            "measures": "distinct pushes whose diff was fetched / pushes published, loopback firehose with "
                        "GitHub's limits scaled in time; also: " + o.line().split(": ", 1)[1],
            "input": f"{a.rate:g} pushes/s, {a.noise} other events per push, x{a.scale:g} time, {a.hours} h",
            "n": f"n = {o.pushes} pushes", "command": command()}
            for o in outcomes]}, indent=2), encoding="utf-8")
    return 0


def command() -> str:
    """This run's command line without ``--json FILE``."""
    args, out = sys.argv[1:], []
    while args:
        arg = args.pop(0)
        if arg == "--json":
            args = args[1:]
        elif not arg.startswith("--json="):
            out.append(arg)
    return " ".join(["python bench/coverage.py", *out])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rate", type=float, default=20.0, help="pushes a real second (default 20)")
    p.add_argument("--hours", type=int, default=3, help="virtual hours of pushes per scenario (default 3)")
    p.add_argument("--scale", type=float, default=120.0, help="virtual seconds per real second (default 120)")
    p.add_argument("--noise", type=int, default=59, help="other events per push (default 59)")
    p.add_argument("--plant-every", type=int, default=25, help="one push in N carries a token (default 25)")
    p.add_argument("--bound", type=int, default=1000, help="the fetch queue's max_queued per source (default 1000)")
    p.add_argument("--settle", type=float, default=90.0, help="real seconds to wait for the last archive hour")
    p.add_argument("--no-pg", dest="pg", action="store_false", help="leave out the PostgreSQL scenario")
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON (for bench/all.py)")
    a = p.parse_args()
    started = time.monotonic()
    code = asyncio.run(run(a))
    print(f"wall time {time.monotonic() - started:.0f}s")
    return code


if __name__ == "__main__":
    sys.exit(main())
