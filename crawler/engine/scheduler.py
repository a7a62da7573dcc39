"""The daemon (``leakpatrol run``): one asyncio loop; every APScheduler import lives here.

Jobs: one per enabled source (ticks every second at most, polls when its interval and any stored
back-off allow; never two runs of one source at once), delivery retries, verification re-checks
and the weekly report. SIGTERM/SIGINT stop cleanly within 10 s: in-flight polls get up to 8 s to
finish, then are cancelled; a cancelled poll has not stored its cursor, so its documents are
processed again on the next start (tokens de-duplicate; outbox rows were committed first).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack, suppress
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.exc import SQLAlchemyError

from crawler.config.model import Config
from crawler.engine.health import create_app
from crawler.engine.pipeline import Engine
from crawler.engine.polling import SourceRunner
from crawler.kernel.errors import ConfigError, LeakpatrolError
from crawler.kernel.serve import AppServer, parse_listen
from crawler.report.compute import Period, load_report
from crawler.report.render import summary_text, write_rendered
from crawler.store.runtime import deployment_key

logger = logging.getLogger(__name__)
GIL_SWITCH_INTERVAL = 0.001
"""Seconds; see :func:`run_daemon`."""
STOP_GRACE = 8.0
FETCH_TICK = 0.5
"""Seconds between drains of a source's fetch queue (a drain itself runs up to a few seconds)."""
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def weekly_trigger(spec: str, where: str | None = None) -> CronTrigger:
    """``"mon 07:00"`` → a cron trigger in the daemon's local time."""
    parts = spec.lower().split()
    try:
        day, hm = parts
        hour, minute = (int(x) for x in hm.split(":"))
        if day not in DAYS or not (0 <= hour < 24 and 0 <= minute < 60):
            raise ValueError
    except ValueError:
        raise ConfigError(f"{spec!r} is not '<day> HH:MM' (day one of {', '.join(DAYS)})", file=where,
                          key="report.weekly") from None
    return CronTrigger(day_of_week=day, hour=hour, minute=minute)


class Daemon:
    def __init__(self, cfg: Config, engine: Engine, stack: AsyncExitStack) -> None:
        self.cfg, self.engine, self.stack = cfg, engine, stack
        self.runners = [SourceRunner(engine, spec, stack) for spec in cfg.source_specs]
        self.disabled = {r.name: r.problem for r in self.runners if r.problem}
        self.active = [r for r in self.runners if not r.problem]
        self.tasks: set[asyncio.Task[Any]] = set()
        self._streaks: dict[str, tuple[str, int]] = {}
        self.scheduler = AsyncIOScheduler()

    def _tracked(self, fn: Callable[[], Awaitable[Any]], what: str) -> Callable[[], Awaitable[None]]:
        async def job() -> None:
            task = asyncio.current_task()
            assert task is not None
            self.tasks.add(task)
            try:
                await fn()
            except LeakpatrolError as exc:
                logger.error("%s: %s", what, exc)
            except asyncio.CancelledError:  # only at shutdown, past STOP_GRACE: not an error
                logger.info("%s: interrupted by shutdown; resumes from its stored state on the next start", what)
            except Exception as exc:  # a store that cannot be written, a bug: the job runs again next tick
                if isinstance(exc, SQLAlchemyError | OSError):
                    self.engine.store_failed(exc)
                self._log_once(what, exc)
            else:
                self._streaks.pop(what, None)
            finally:
                self.tasks.discard(task)
        return job

    def _log_once(self, what: str, exc: Exception) -> None:
        """The traceback once per streak of the same error of one job, then a count."""
        signature = f"{type(exc).__name__}: {exc}"
        count = self._streaks.get(what, ("", 0))
        if count[0] == signature:
            self._streaks[what] = (signature, count[1] + 1)
            if count[1] + 1 in (2, 10, 100) or (count[1] + 1) % 1000 == 0:
                logger.error("%s: the same %s again (%d times in a row)", what, type(exc).__name__, count[1] + 1)
            return
        self._streaks[what] = (signature, 1)
        logger.error("%s: unexpected %s", what, type(exc).__name__, exc_info=exc)

    def _source_job(self, runner: SourceRunner) -> Callable[[], Awaitable[Any]]:
        async def tick() -> None:
            if await runner.due(self.engine.clock()):
                out = await runner.poll(drain=0)  # the queued fetches are the fetch-queue job's …
                job = self.scheduler.get_job(f"fetch:{runner.name}") if out.ok and runner.queue else None
                if job is not None:  # … which starts now rather than at its next tick
                    job.modify(next_run_time=datetime.now(UTC))
        return tick

    def schedule(self) -> None:
        for name, why in self.disabled.items():
            logger.warning("source %s: %s", name, why)
        opts: dict[str, Any] = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
        for r in self.active:
            tick = IntervalTrigger(seconds=max(0.2, min(1.0, r.interval / 4)))
            self.scheduler.add_job(self._tracked(self._source_job(r), f"source {r.name}"), tick,
                                   id=f"source:{r.name}", **opts)
            logger.info("source %s: every %.0fs", r.name, r.interval)
            if r.queue is not None:  # its queued fetches, shared with the other processes on this store
                self.scheduler.add_job(self._tracked(r.drain, f"fetch queue {r.name}"),
                                       IntervalTrigger(seconds=FETCH_TICK), id=f"fetch:{r.name}", **opts)
        self.scheduler.add_job(self._tracked(self.engine.deliver_due, "deliveries"), IntervalTrigger(seconds=1),
                               id="deliveries", **opts)
        v = self.cfg.verification
        every = max(0.5, min(10.0, v.recheck, v.unknown_retry))
        self.scheduler.add_job(self._tracked(self.engine.recheck_due, "re-check"), IntervalTrigger(seconds=every),
                               id="recheck", **opts)
        if self.cfg.report.weekly:
            trigger = weekly_trigger(self.cfg.report.weekly, self.cfg.path)
            self.scheduler.add_job(self._tracked(self.weekly_report, "weekly report"), trigger, id="report", **opts)

    async def weekly_report(self) -> None:
        """Compute and render in a worker thread (queries, charts and templates take seconds on a big
        store), then queue the report for ``[report] notify`` on the loop."""
        now = self.engine.clock()
        period = Period.last_full_week(now)
        report, summary = await asyncio.to_thread(self._write_report, period, now)
        if self.cfg.report.notify:
            await self.engine.send_report(period.label, report, summary)

    def _write_report(self, period: Period, now: datetime) -> tuple[dict[str, Any], str]:
        report = load_report(self.engine.store, period, now)
        write_rendered(report, self.cfg.resolve_path(self.cfg.report.out_dir), list(self.cfg.report.formats))
        return report, summary_text(report)

    async def run(self, stop: asyncio.Event) -> None:
        self.schedule()
        server = await self._start_server()
        self.scheduler.start()
        logger.info("leakpatrol running: %d source(s), %d notifier(s)", len(self.active), len(self.engine.notifiers))
        try:
            await stop.wait()
        finally:
            logger.info("stopping")
            self.scheduler.pause()  # no new runs; shutdown() would cancel the running ones outright
            await self._drain()
            self.scheduler.shutdown(wait=False)
            if server is not None:
                with suppress(Exception):
                    await asyncio.wait_for(server.stop(), 2.0)

    async def _drain(self) -> None:
        """In-flight polls, then background verifications, all within ``STOP_GRACE`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STOP_GRACE
        await asyncio.sleep(0)  # a job the scheduler launched just before shutdown registers itself
        while pending := {t for t in self.tasks if not t.done()}:
            _, still = await asyncio.wait(pending, timeout=max(0.0, deadline - loop.time()))
            if still:
                for t in still:
                    t.cancel()
                await asyncio.wait(still, timeout=1.0)
                break
            await asyncio.sleep(0)
        await self.engine.settle(max(0.5, deadline - loop.time()))

    async def _start_server(self) -> AppServer | None:
        if not self.cfg.server.listen:
            return None
        host, port = parse_listen(self.cfg.server.listen)
        app = create_app(self.engine, {r.name: r.interval for r in self.active},
                         {k: v or "" for k, v in self.disabled.items()}, deployment_key(self.cfg))
        server = AppServer(app, host, port)  # no signal handlers: the daemon owns SIGTERM/SIGINT
        await server.start()
        return server


async def run_daemon(cfg: Config, stop: asyncio.Event | None = None,
                     ready: Callable[[Engine], None] | None = None) -> int:
    """Open the store, build the engine and run until ``stop`` (or SIGTERM/SIGINT)."""
    from crawler.store.runtime import open_runtime

    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    # The store runs in a thread (crawler.store.offload): hand it the GIL within 1 ms rather than
    # CPython's default 5 ms, or every store call waits out a busy loop's slice (measured: -6 %
    # documents/s in bench/throughput.py at 5 ms, none at 1 ms).
    sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_INTERVAL))
    for sig in (signal.SIGTERM, signal.SIGINT):
        with suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    store = open_runtime(cfg, create_key=True)
    try:
        async with Engine(cfg, store) as engine, AsyncExitStack() as stack:
            daemon = Daemon(cfg, engine, stack)
            if ready is not None:
                ready(engine)
            await daemon.run(stop)
    finally:
        store.close()
    return 0
