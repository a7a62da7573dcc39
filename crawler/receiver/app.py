"""The issuer's reference receiver for leakpatrol's revocation webhook (``leakpatrol receiver``).

A small Starlette app an issuer runs as it is or mounts in their own service:

1. verify the Standard Webhooks signature and a timestamp within ±5 minutes (401 otherwise);
2. acknowledge a repeated ``webhook-id`` whose hook already succeeded (200, the hook is not run
   again); ids are remembered in a small SQLite file (WAL), so this holds across restarts. The id is
   *claimed* in one transaction before the hook runs, so two receivers sharing one ``--state`` file
   run it once: the other answers 503 with ``Retry-After`` while the claim holds (``CLAIM_TTL``);
3. run the issuer's hook: ``--exec CMD`` (event JSON on stdin, the token in ``LEAKPATROL_TOKEN``,
   never in argv) or ``--handler module:function`` (sync or async, called with the event dict);
4. answer 200 only after the hook succeeded; a failing hook gives 500 so the sender retries.

With ``partner_keys`` it also takes GitHub's secret-scanning partner alerts on
``POST /github/secret-scanning`` and runs the same hook (:mod:`crawler.receiver.partner`).

The token is never logged: log lines carry the ``webhook-id``, the rule and 8 digits of
``token_sha256``. Issuers who do not use the app call :func:`verify_webhook` themselves.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import sqlite3
import threading
import time
import traceback
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from crawler.receiver.partner import PATH as PARTNER_PATH
from crawler.receiver.partner import PartnerKeys, partner_endpoint, read_body

logger = logging.getLogger(__name__)

Hook = Callable[[dict[str, Any]], Awaitable[object] | object]
DEFAULT_STATE = "leakpatrol-receiver.db"
MAX_BODY = 1024 * 1024
KEEP_IDS = 30 * 86400.0
"""Handled ids are kept this long: far past any sender's ``give_up_after``."""
CLAIM_TTL = 600.0
"""A claim of a receiver that died mid-hook lapses after this long, and a retry runs the hook."""
BUSY_RETRY_AFTER = 30


def verify_webhook(secret: str, body: bytes | str, headers: Mapping[str, str], *,
                   tolerance: float = 300) -> dict[str, Any]:
    """Verify one Standard Webhooks request and return its JSON body.

    Raises ``standardwebhooks.WebhookVerificationError`` for missing or malformed headers, a bad
    signature, or a timestamp more than ``tolerance`` seconds away (the library never accepts
    more than 5 minutes); ``ValueError`` when the signed body is not a JSON object.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    try:
        stamp = int(lower.get("webhook-timestamp", ""))
    except ValueError:
        raise WebhookVerificationError("missing or malformed webhook-timestamp") from None
    if abs(time.time() - stamp) > tolerance:
        raise WebhookVerificationError("webhook-timestamp outside the allowed window")
    try:
        Webhook(secret).verify(body, lower, json_parse=False)
    except ValueError:  # malformed signature list, bad base64, body not UTF-8
        raise WebhookVerificationError("malformed webhook-signature or body") from None
    event = json.loads(body)
    if not isinstance(event, dict):
        raise ValueError("the webhook body is not a JSON object")
    return event


class SeenIds:
    """``webhook-id``s whose hook succeeded, in SQLite (WAL, synchronous=FULL); in memory for ``None``."""

    def __init__(self, path: Path | None, keep: float = KEEP_IDS) -> None:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path) if path else ":memory:", timeout=10.0,
                                   isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock:
            if path is not None:
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("CREATE TABLE IF NOT EXISTS seen (id TEXT PRIMARY KEY, done_at REAL NOT NULL)")
            self._db.execute("CREATE TABLE IF NOT EXISTS claims (id TEXT PRIMARY KEY, until REAL NOT NULL)")
            self._db.execute("DELETE FROM seen WHERE done_at < ?", (time.time() - keep,))

    def done(self, msg_id: str) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM seen WHERE id = ?", (msg_id,)).fetchone() is not None

    def claim(self, msg_id: str, ttl: float = CLAIM_TTL) -> str:
        """``done`` (handled before), ``busy`` (another receiver's claim holds) or ``claimed`` (the
        caller runs the hook), decided in one write transaction (``BEGIN IMMEDIATE``)."""
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                if self._db.execute("SELECT 1 FROM seen WHERE id = ?", (msg_id,)).fetchone() is not None:
                    result = "done"
                elif (row := self._db.execute("SELECT until FROM claims WHERE id = ?", (msg_id,)).fetchone()) \
                        and row[0] > now:
                    result = "busy"
                else:
                    self._db.execute("INSERT OR REPLACE INTO claims (id, until) VALUES (?, ?)", (msg_id, now + ttl))
                    result = "claimed"
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return result

    def release(self, msg_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM claims WHERE id = ?", (msg_id,))

    def mark(self, msg_id: str) -> None:
        """Handled: remembered, and its claim dropped, in one transaction."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("INSERT OR IGNORE INTO seen (id, done_at) VALUES (?, ?)", (msg_id, time.time()))
            self._db.execute("DELETE FROM claims WHERE id = ?", (msg_id,))
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()


def event_data(event: Mapping[str, Any]) -> dict[str, Any]:
    data = event.get("data")
    return data if isinstance(data, dict) else {}


def scrub(text: str, token: object) -> str:
    return text.replace(token, "[token]") if isinstance(token, str) and token else text


async def _call(hook: Hook, event: dict[str, Any]) -> object:
    """Await an async hook; run a sync one in a worker thread (and await what it returns); return its result."""
    if inspect.iscoroutinefunction(hook):
        return await hook(event)
    result = await run_in_threadpool(hook, event)
    if inspect.isawaitable(result):
        return await result
    return result


def create_app(secret: str, hook: Hook, *, seen_db: Path | None = None, tolerance: float = 300,
               events: frozenset[str] = frozenset({"token.exposed"}),
               partner_keys: PartnerKeys | None = None) -> Starlette:
    """The receiver app: ``POST /`` and ``POST /leakpatrol``; ``GET /healthz``; with ``partner_keys``
    also ``POST /github/secret-scanning`` (:mod:`crawler.receiver.partner`), running the same hook.

    Only ``events`` types run the hook; other signed events are acknowledged and logged.
    """
    Webhook(secret)  # a malformed secret fails here, not on the first delivery
    seen = SeenIds(seen_db)
    in_flight: dict[str, tuple[asyncio.Lock, int]] = {}

    async def handle(msg_id: str, event: dict[str, Any]) -> Response:
        data = event_data(event)
        state = await run_in_threadpool(seen.claim, msg_id)
        if state == "done":
            logger.info("webhook %s: already handled; acknowledged without running the hook", msg_id)
            return JSONResponse({"ok": True, "duplicate": True})
        if state == "busy":
            logger.info("webhook %s: being handled by another receiver on this state file; retry later", msg_id)
            return JSONResponse({"ok": False, "error": "being handled"}, status_code=503,
                                headers={"Retry-After": str(BUSY_RETRY_AFTER)})
        if event.get("type") not in events:
            logger.info("webhook %s: %s acknowledged (no hook for this type)", msg_id, event.get("type"))
            seen.mark(msg_id)
            return JSONResponse({"ok": True, "ignored": True})
        logger.info("webhook %s: %s rule=%s sha256=%s", msg_id, event.get("type"), data.get("rule"),
                    str(data.get("token_sha256", ""))[:8])
        try:
            await _call(hook, event)
        except Exception as exc:
            token = data.get("token")
            logger.error("webhook %s: revocation hook failed (%s): %s; answering 500 so the sender retries",
                         msg_id, type(exc).__name__, scrub(str(exc), token))
            logger.debug("hook traceback:\n%s", scrub("".join(traceback.format_exception(exc)), token))
            seen.release(msg_id)
            return JSONResponse({"ok": False, "error": "hook failed"}, status_code=500)
        seen.mark(msg_id)
        logger.info("webhook %s: hook succeeded", msg_id)
        return JSONResponse({"ok": True})

    async def receive(request: Request) -> Response:
        body = await read_body(request, MAX_BODY)
        if body is None:
            return JSONResponse({"ok": False, "error": "body too large"}, status_code=413)
        msg_id = request.headers.get("webhook-id", "")
        try:
            event = verify_webhook(secret, body, request.headers, tolerance=tolerance)
        except WebhookVerificationError as exc:
            logger.warning("rejected webhook %r: %s", msg_id[:64], exc)
            return JSONResponse({"ok": False, "error": "invalid signature or timestamp"}, status_code=401)
        except ValueError:
            logger.warning("rejected webhook %r: body is not a JSON object", msg_id[:64])
            return JSONResponse({"ok": False, "error": "body is not a JSON object"}, status_code=400)
        lock, users = in_flight.get(msg_id, (asyncio.Lock(), 0))
        in_flight[msg_id] = (lock, users + 1)
        try:
            async with lock:  # a concurrent retry of the same id waits, then sees it handled
                return await handle(msg_id, event)
        finally:
            lock, users = in_flight[msg_id]
            if users <= 1:
                del in_flight[msg_id]
            else:
                in_flight[msg_id] = (lock, users - 1)

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    routes = [Route("/", receive, methods=["POST"]), Route("/leakpatrol", receive, methods=["POST"]),
              Route("/healthz", healthz, methods=["GET"])]
    if partner_keys is not None:
        routes.append(Route(PARTNER_PATH, partner_endpoint(partner_keys, lambda event: _call(hook, event)),
                            methods=["POST"]))
    app = Starlette(routes=routes)
    app.state.seen = seen
    return app
