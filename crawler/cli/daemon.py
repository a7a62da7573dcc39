"""The daemon-side commands: crawl, exposures, report, receiver, run, demo."""

from __future__ import annotations

import argparse
import logging
from contextlib import AsyncExitStack
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from crawler.cli.common import EXIT_FOUND, EXIT_OK, listed, load, out, run_async
from crawler.kernel.clock import iso, utcnow
from crawler.kernel.durations import format_duration, parse_duration
from crawler.kernel.errors import ConfigError

if TYPE_CHECKING:
    from crawler.config.model import Config

logger = logging.getLogger(__name__)
CRAWL_DRAIN_SECONDS = 600.0
"""`crawl` fetches the pushes its polls queued for up to this long (a rate limit ends it sooner)."""


# -- crawl -----------------------------------------------------------------------------------


def cmd_crawl(args: argparse.Namespace) -> int:
    cfg = load(args.config)
    names = [s.name for s in cfg.source_specs]
    if args.source and args.source not in names:
        raise ConfigError(f"no enabled source named {args.source!r}; enabled: {', '.join(names) or 'none'}",
                          file=cfg.path, key="sources")
    return run_async(_crawl(cfg, args.source))


async def _crawl(cfg: Config, only: str | None) -> int:
    from crawler.engine.pipeline import Engine
    from crawler.engine.polling import SourceRunner
    from crawler.store.runtime import open_runtime

    store = open_runtime(cfg, create_key=True)
    failed = False
    try:
        async with Engine(cfg, store) as engine, AsyncExitStack() as stack:
            runners = [SourceRunner(engine, s, stack) for s in cfg.source_specs if only in (None, s.name)]
            active = []
            for r in runners:
                if r.problem:
                    logger.warning("source %s: %s", r.name, r.problem)
                elif not await r.due(engine.clock(), interval=False):
                    state = store.source_state(r.name)
                    why = state.last_error or "the server asked"
                    out(f"{r.name:<18} backing off until {state.next_poll_at:%H:%M:%S} UTC ({why})")
                else:
                    active.append(r)
            started = engine.clock()
            import asyncio

            outcomes = await asyncio.gather(*(r.poll(interval=False, drain=CRAWL_DRAIN_SECONDS) for r in active))
            await engine.settle()
            await engine.recheck_due()
            await engine.deliver_due()
            for o in outcomes:
                status = "ok" if o.ok else f"FAILED: {o.error}"
                out(f"{o.source:<18} {o.documents:>5} documents  {o.sightings:>3} new sightings  {status}")
                failed |= not o.ok
            for row in exposure_rows(store, None, started):
                sent = ", ".join(f"{d['notifier']} {d['status']}" for d in row["deliveries"]) or "not notified"
                out(f"new {row['status']:<8} {row['rule']:<20} {row['redacted']}  {row['source']} {row['url']}"
                    f"  [{sent}]")
    finally:
        store.close()
    return EXIT_FOUND if failed else EXIT_OK


# -- exposures -------------------------------------------------------------------------------


def exposure_rows(store: Any, status: list[str] | None, since: datetime | None) -> list[dict[str, Any]]:
    tokens = store.tokens(status=status, since=since)
    ids = [t.id for t in tokens]
    firsts: dict[int, Any] = {}
    for s in store.sightings(ids):
        firsts.setdefault(s.token_id, s)
    deliveries: dict[int, list[Any]] = {}
    for d in store.deliveries(ids):
        deliveries.setdefault(d.token_id, []).append(d)
    labels = {f.token_id: f for f in store.feedback(ids)}
    rows = []
    for t in tokens:
        first = firsts.get(t.id)
        rows.append({
            "redacted": t.redacted, "fingerprint": t.fingerprint, "rule": t.rule, "severity": t.severity,
            "status": t.status, "first_seen_at": iso(t.first_seen_at, precise=True),
            "verified_at": iso(t.verified_at, precise=True),
            "revoked_at": iso(t.revoked_at, precise=True), "sightings": t.sightings,
            "source": first.source if first else None, "url": first.url if first else None,
            "deliveries": [{"notifier": d.notifier, "status": d.status, "attempts": d.attempts,
                            "delivered_at": iso(d.delivered_at, precise=True)} for d in deliveries.get(t.id, [])],
            "feedback": _feedback(labels.get(t.id)),
        })
    return rows

def _feedback(row: Any) -> dict[str, Any] | None:
    """The issuer's label from a ``github_partner`` answer (``true_positive`` / ``false_positive``)."""
    if row is None:
        return None
    return {"label": row.label, "notifier": row.notifier, "at": iso(row.at, precise=True)}


LABEL_SHOWN = {"true_positive": "confirmed", "false_positive": "FALSE-POS"}


def cmd_exposures(args: argparse.Namespace) -> int:
    from crawler.store.runtime import open_runtime

    cfg = load(args.config)
    since = utcnow() - timedelta(seconds=parse_duration(args.since)) if args.since else None
    store = open_runtime(cfg, create_key=False)
    try:
        rows = exposure_rows(store, args.status, since)
    finally:
        store.close()
    if listed(rows, "exposures", args.format, "no exposures"):
        return EXIT_OK
    now = utcnow()
    out(f"{'STATUS':<9} {'RULE':<24} {'TOKEN':<44} {'AGE':>6} {'SEEN':>4}  {'NOTIFIED':<10} {'ISSUER':<9} WHERE")
    for r in rows:
        age = format_duration((now - datetime.fromisoformat(r["first_seen_at"])).total_seconds())
        notified = ",".join(sorted({d["status"] for d in r["deliveries"]})) or "-"
        label = LABEL_SHOWN.get(r["feedback"]["label"], "-") if r["feedback"] else "-"
        out(f"{r['status']:<9} {r['rule']:<24} {r['redacted']:<44} {age:>6} {r['sightings']:>4}  "
            f"{notified:<10} {label:<9} {r['source']} {r['url']}")
    false_positives = sum(1 for r in rows if r["feedback"] and r["feedback"]["label"] == "false_positive")
    if false_positives:
        out(f"{false_positives} marked false positive by the issuer (github_partner feedback)")
    return EXIT_OK


# -- run / report / receiver ----------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    from crawler.engine.scheduler import run_daemon

    cfg = load(args.config)
    return run_async(run_daemon(cfg))


def cmd_report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from crawler.report.compute import Period, load_report
    from crawler.report.render import render
    from crawler.store.runtime import open_runtime

    cfg = load(args.config)
    now = utcnow()
    try:
        if args.week:
            period = Period.iso_week(args.week)
        elif args.since:
            period = Period.since(parse_duration(args.since), now)
        else:
            period = Period.last_full_week(now)
    except ValueError as exc:
        raise ConfigError(str(exc), key="--week" if args.week else "--since") from None
    store = open_runtime(cfg, create_key=False)
    try:
        text = render(load_report(store, period, now), args.format)
    finally:
        store.close()
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        out(f"wrote {args.output}")
    else:
        out(text)
    return EXIT_OK


def cmd_receiver(args: argparse.Namespace) -> int:
    from crawler.receiver.run import run_receiver

    return run_receiver(args.listen, args.secret_env, args.exec_cmd, args.handler, args.state,
                        keys_url=args.github_keys_url, keys_file=args.github_keys_file)


def _log_to_file(path: Any) -> None:
    """The demo's console shows the live view; the daemon's log goes to a file (warnings still show)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for h in root.handlers:
        h.setLevel(logging.WARNING)
    fh = logging.FileHandler(path, encoding="utf-8")
    fh.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    for flt in (root.handlers[0].filters if root.handlers else []):
        fh.addFilter(flt)
    root.addHandler(fh)


def cmd_demo(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from rich.console import Console

    from crawler.demo.run import run_demo
    from crawler.demo.view import start_live, summary_lines

    folder = Path(args.dir)
    if (folder / "data" / "leakpatrol.db").exists():
        raise ConfigError("already holds a demo; remove it or pick another folder", file=str(folder))
    console = Console(file=sys.stdout)
    _log_to_file(folder / "leakpatrol.log")
    out(f"leakpatrol demo in {folder}/ — planting tokens for {args.seconds:.0f}s on a loopback sandbox …")
    if console.is_terminal:
        live, update = start_live(console)
        with live:
            state, paths = run_async(run_demo(folder, plant_seconds=args.seconds, view=update))
    else:
        state, paths = run_async(run_demo(folder, plant_seconds=args.seconds))
    out("")
    for line in summary_lines(state):
        out(line)
    for p in paths:
        out(f"report    {p}")
    out(f"log       {folder / 'leakpatrol.log'}")
    out(f"config    {folder / 'leakpatrol.toml'} (try: leakpatrol exposures -c {folder / 'leakpatrol.toml'})")
    from crawler.detect.redaction import fingerprint

    missed = [p for p in state.plants if p.kind == "live" and fingerprint(p.token) not in state.arrivals]
    return EXIT_FOUND if missed else EXIT_OK

