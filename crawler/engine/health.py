"""The daemon's own HTTP endpoints on ``[server] listen``: ``/healthz``, ``/metrics`` and
``/meta/public_keys/secret_scanning`` (the deployment's signing keys, in GitHub's format, for
receivers of ``github_partner`` alerts)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from crawler.engine.pipeline import Engine
from crawler.kernel.clock import iso
from crawler.kernel.errors import SigningKeyError
from crawler.kernel.partner import KEYS_PATH, DeploymentKey

logger = logging.getLogger(__name__)


HEALTH_CACHE = 1.0
"""Seconds one ``/healthz`` answer is reused: a flood of probes costs one round of store reads a second."""
STALL_FACTOR = 3.0
"""A source that has not finished a poll within max(3 × its interval, its back-off) is ``stalled``."""
STALL_GRACE = 30.0
"""Added to that window: a poll takes time, and the first one starts after the daemon does."""


def _stalled_after(interval: float, state: Any) -> float:
    backoff = 0.0
    if state is not None and state.next_poll_at is not None and state.last_poll_at is not None:
        backoff = (state.next_poll_at - state.last_poll_at).total_seconds()
    return max(STALL_FACTOR * interval, backoff) + STALL_GRACE


async def health(engine: Engine, sources: Sequence[str] | Mapping[str, float], disabled: dict[str, str]
                 ) -> tuple[int, dict[str, Any]]:
    """Per source: last success, last error, next poll, failing for how long (``degraded`` with the
    ``reason`` from the first failure on), documents parked; ``stalled`` when it has not finished a
    poll within max(3 × interval, its back-off) (``sources`` maps names to intervals). The store:
    ``unhealthy`` while its writes (or these reads) fail. Each notifier its endpoint disabled, with
    the reason. 503 when anything is unhealthy. The store is read in its thread pool; the backlog is
    a ``COUNT(*)``, never a load of rows."""
    now = engine.clock()
    limit = engine.cfg.server.unhealthy_after
    intervals = sources if isinstance(sources, Mapping) else {}
    store: dict[str, Any] = {"status": "ok"}
    try:
        states = {s.name: s for s in await engine.db(engine.store.all_source_states)}
        parked = await engine.db(engine.store.count_parked)
        backlog: int | None = await engine.db(engine.store.count_due_deliveries, now)
        gone = await engine.db(engine.store.notifier_states)
    except Exception as exc:  # a stopped database: say so rather than answer 500 (or "ok")
        engine.store_failed(exc)
        states, parked, backlog, gone = {}, {}, None, {}
    if engine.store_error is not None:
        error, since = engine.store_error
        store = {"status": "unhealthy", "reason": error, "since": iso(since, precise=True)}
    healthy, out = store["status"] == "ok", {}
    for name in sources:
        st = states.get(name)
        failing = (now - st.failing_since).total_seconds() if st and st.failing_since else 0.0
        bad = failing > limit
        finished = max(filter(None, (st.last_success_at, st.last_error_at)), default=None) if st else None
        quiet = (now - (finished or engine.started_at)).total_seconds()
        stalled = name in intervals and quiet > _stalled_after(intervals[name], st)
        healthy &= not (bad or stalled)
        status = "failing" if bad else "stalled" if stalled else (
            "degraded" if st and st.failing_since else "ok")
        out[name] = {
            "status": status,
            "reason": (st.last_error or None) if st and st.failing_since else (
                f"no poll finished for {quiet:.0f}s" if stalled else None),
            "last_success_at": iso(st.last_success_at, precise=True) if st else None,
            "last_error_at": iso(st.last_error_at, precise=True) if st else None,
            "last_error": (st.last_error or None) if st else None,
            "next_poll_at": iso(st.next_poll_at, precise=True) if st else None,
            "failing_for_seconds": round(failing, 1),
            "parked_documents": parked.get(name, 0),
        }
    for name, why in disabled.items():
        out[name] = {"status": "disabled", "reason": why}
    notifiers = {nid: {"status": "disabled", "reason": st.reason,
                       "since": iso(st.disabled_at, precise=True) if st.disabled_at else None}
                 for nid, st in gone.items()}
    body = {"status": "ok" if healthy else "unhealthy", "sources": out, "store": store, "notifiers": notifiers,
            "outbox_backlog": backlog, "time": iso(now, precise=True)}
    return (200 if healthy else 503), body


def create_app(engine: Engine, sources: Sequence[str] | Mapping[str, float], disabled: dict[str, str],
               signing: DeploymentKey | None = None) -> Starlette:
    cached: list[Any] = [float("-inf"), 200, {}]
    lock = asyncio.Lock()

    async def healthz(_: Request) -> Response:
        async with lock:  # concurrent probes wait for the one round of reads
            if time.monotonic() - cached[0] >= HEALTH_CACHE:
                code, body = await health(engine, sources, disabled)
                cached[:] = [time.monotonic(), code, body]
        return JSONResponse(cached[2], status_code=cached[1])

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(engine.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def public_keys(_: Request) -> Response:
        """Read on each request, so a rotated key file is published without a restart; an empty set
        when the deployment has no signing key (no ``github_partner`` notifier made one)."""
        if signing is None or not signing.exists():
            return JSONResponse({"public_keys": []})
        try:
            keys = await asyncio.to_thread(signing.load)
        except SigningKeyError as exc:
            logger.error("%s", exc)
            return JSONResponse({"message": "signing key unavailable"}, status_code=503)
        return JSONResponse(keys.document(), headers={"Cache-Control": "max-age=60"})

    return Starlette(routes=[Route("/healthz", healthz), Route("/metrics", metrics),
                             Route(KEYS_PATH, public_keys)])
