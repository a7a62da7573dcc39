"""The daemon's own HTTP endpoints on ``[server] listen``: ``/healthz``, ``/metrics`` and
``/meta/public_keys/secret_scanning`` (the deployment's signing keys, in GitHub's format, for
receivers of ``github_partner`` alerts)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
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


def create_app(engine: Engine, sources: Sequence[str], disabled: dict[str, str],
               signing: DeploymentKey | None = None) -> Starlette:
    async def healthz(_: Request) -> Response:
        code, body = await health(engine, sources, disabled)
        return JSONResponse(body, status_code=code)

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
