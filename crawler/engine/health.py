"""The daemon's own HTTP endpoints on ``[server] listen``: ``/healthz`` and ``/metrics``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from crawler.engine.pipeline import Engine
from crawler.kernel.clock import iso


async def health(engine: Engine, sources: Sequence[str], disabled: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """Per source: last success, last error, next poll, failing for how long (``degraded`` with the
    ``reason`` from the first failure on), documents parked. 503 past the threshold.
    The store is read in its thread pool; the backlog is a ``COUNT(*)``, never a load of rows."""
    now = engine.clock()
    limit = engine.cfg.server.unhealthy_after
    states = {s.name: s for s in await engine.db(engine.store.all_source_states)}
    parked = await engine.db(engine.store.count_parked)
    healthy, out = True, {}
    for name in sources:
        st = states.get(name)
        failing = (now - st.failing_since).total_seconds() if st and st.failing_since else 0.0
        bad = failing > limit
        healthy &= not bad
        out[name] = {
            "status": "failing" if bad else ("degraded" if st and st.failing_since else "ok"),
            "reason": (st.last_error or None) if st and st.failing_since else None,
            "last_success_at": iso(st.last_success_at, precise=True) if st else None,
            "last_error_at": iso(st.last_error_at, precise=True) if st else None,
            "last_error": (st.last_error or None) if st else None,
            "next_poll_at": iso(st.next_poll_at, precise=True) if st else None,
            "failing_for_seconds": round(failing, 1),
            "parked_documents": parked.get(name, 0),
        }
    for name, why in disabled.items():
        out[name] = {"status": "disabled", "reason": why}
    backlog = await engine.db(engine.store.count_due_deliveries, now)
    body = {"status": "ok" if healthy else "unhealthy", "sources": out, "outbox_backlog": backlog,
            "time": iso(now, precise=True)}
    return (200 if healthy else 503), body


def create_app(engine: Engine, sources: Sequence[str], disabled: dict[str, str]) -> Starlette:
    async def healthz(_: Request) -> Response:
        code, body = await health(engine, sources, disabled)
        return JSONResponse(body, status_code=code)

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(engine.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return Starlette(routes=[Route("/healthz", healthz), Route("/metrics", metrics)])
