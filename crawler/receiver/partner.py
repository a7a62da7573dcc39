"""The reference receiver's second route: GitHub's secret-scanning partner alerts
(``POST /github/secret-scanning``), and leakpatrol's own ``github_partner`` alerts, which use the same format.

1. The body is read up to :data:`MAX_BODY` (413 past it) and must carry ``Github-Public-Key-Identifier``
   and ``Github-Public-Key-Signature`` (401 without).
2. The identifier names a key of the sender's published set (:class:`PartnerKeys`: GitHub's
   ``/meta/public_keys/secret_scanning``, a daemon's own, or a file), fetched and cached. An unknown
   identifier refetches the set, at most once a minute; the set is also refreshed every 10 minutes,
   so a key removed by its owner stops being accepted. Unknown key → 401; keys unreachable → 503.
3. The ECDSA P-256 / SHA-256 signature is verified over the raw body (401 when it does not hold).
4. The body must be a JSON array (400 otherwise) of at most :data:`MAX_ALERTS` alerts (413 past it),
   each an object with string ``token`` and ``type`` (400 naming the entry otherwise).
5. Each alert runs the issuer's hook with a normalised ``token.exposed`` event (``source``
   ``github_partner``, GitHub's ``url``, and GitHub's ``source`` as ``github_source``). A hook that
   returns ``"true_positive"`` / ``"false_positive"`` (or a dict with that ``label``; an ``--exec``
   command that prints it) adds a feedback entry, by ``token_hash``; the answer is the feedback
   array (``[]`` by default). A failing hook gives 500 so the sender retries.

Nothing is run or stored before every check has passed. The protocol carries no message id, so the
hook may see an alert again (a sender's retry): revoking twice must be harmless.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from crawler.http import make_client, read_capped
from crawler.kernel.clock import iso
from crawler.kernel.partner import (
    KEY_ID_HEADER,
    KIND,
    LABELS,
    SIGNATURE_HEADER,
    feedback_entries,
    parse_public_keys,
    verify,
)

logger = logging.getLogger(__name__)

PATH = "/github/secret-scanning"
MAX_BODY = 1024 * 1024
BODY_TIMEOUT = 30.0
"""Seconds a request body has to arrive whole (408 past it)."""
MAX_ALERTS = 1000
"""Alerts in one request; GitHub batches, but a thousand tokens in one POST is not an alert."""
MAX_KEYS_DOCUMENT = 256 * 1024
REFETCH_EVERY = 60.0
MAX_AGE = 600.0


class KeysUnavailable(Exception):
    """The key set cannot be fetched or read, and none is cached."""


class PartnerKeys:
    """The sender's public keys by identifier, from ``url`` (GET) or ``file``, cached.

    ``clock`` is monotonic seconds (tests pass their own)."""

    def __init__(self, *, url: str | None = None, file: Path | None = None,
                 clock: Callable[[], float] = time.monotonic, refetch_every: float = REFETCH_EVERY,
                 max_age: float = MAX_AGE) -> None:
        if (url is None) == (file is None):
            raise ValueError("give exactly one of url or file")
        self.url, self.file, self.clock = url, file, clock
        self.refetch_every, self.max_age = refetch_every, max_age
        self._keys: dict[str, ec.EllipticCurvePublicKey] | None = None
        self._fetched_at = self._tried_at = float("-inf")
        self._lock = asyncio.Lock()
        self.fetches = 0

    @property
    def where(self) -> str:
        return self.url or str(self.file)

    async def _document(self) -> bytes:
        if self.file is not None:
            return await asyncio.to_thread(self.file.read_bytes)
        assert self.url is not None
        async with make_client(owner="partner keys", follow_redirects=False) as client:
            body = await read_capped(client, "GET", self.url, max_bytes=MAX_KEYS_DOCUMENT,
                                     headers={"Accept": "application/json"})
        if body.response.status_code != 200:
            raise OSError(f"HTTP {body.response.status_code}")
        if body.truncated:
            raise OSError(f"larger than {MAX_KEYS_DOCUMENT} bytes")
        return body.content

    async def _refresh(self) -> None:
        """Fetch the set once (callers hold the lock); on failure keep what is cached."""
        self._tried_at = self.clock()
        self.fetches += 1
        try:
            keys = parse_public_keys(await self._document())
        except (OSError, ValueError, httpx.HTTPError) as exc:
            logger.warning("partner keys from %s: %s", self.where, str(exc) or type(exc).__name__)
            return
        self._keys, self._fetched_at = keys, self._tried_at
        logger.info("partner keys from %s: %d key(s)", self.where, len(keys))

    async def key(self, key_id: str) -> ec.EllipticCurvePublicKey | None:
        """The key named ``key_id``, or ``None`` if the set lacks it. The set is (re)fetched when it is
        missing, older than ``max_age`` or lacks ``key_id``, but never twice within ``refetch_every``."""
        async with self._lock:
            now = self.clock()
            stale = self._keys is None or now - self._fetched_at >= self.max_age
            if (stale or key_id not in (self._keys or {})) and now - self._tried_at >= self.refetch_every:
                await self._refresh()
            if self._keys is None:
                raise KeysUnavailable(f"cannot load the public keys from {self.where}")
            return self._keys.get(key_id)


Caller = Callable[[dict[str, Any]], Awaitable[object]]


def _problem(status: int, error: str) -> Response:
    return JSONResponse({"ok": False, "error": error}, status_code=status)


def _check_alerts(alerts: object) -> str | None:
    """What is wrong with the parsed body, or ``None``."""
    if not isinstance(alerts, list):
        return "the body is not a JSON array of alerts"
    for i, alert in enumerate(alerts):
        if not isinstance(alert, dict):
            return f"alert {i} is not an object"
        for field in ("token", "type"):
            if not isinstance(alert.get(field), str) or not alert[field]:
                return f"alert {i} has no {field} string"
        for field in ("url", "source"):
            if alert.get(field) is not None and not isinstance(alert[field], str):
                return f"alert {i}: {field} is not a string"
    return None


def normalise(alert: dict[str, Any], now: datetime) -> dict[str, Any]:
    """One partner alert as the ``token.exposed`` event the hook already knows."""
    token = str(alert["token"])
    return {"type": "token.exposed", "timestamp": iso(now), "data": {
        "token": token, "token_sha256": hashlib.sha256(token.encode("utf-8")).hexdigest(),
        "rule": alert["type"], "token_type": alert["type"], "status": "unknown", "verified_at": None,
        "first_seen_at": iso(now), "source": KIND, "url": alert.get("url") or "",
        "github_source": alert.get("source"), "location": {}, "sightings": 1}}


def _label(result: object) -> str | None:
    if isinstance(result, dict):
        result = result.get("label")
    return result if isinstance(result, str) and result in LABELS else None


async def read_body(request: Request, limit: int = MAX_BODY, timeout: float | None = None) -> bytes | None:
    """The request body, or ``None`` as soon as it passes ``limit`` bytes (the rest is never read).
    A body that has not fully arrived within ``timeout`` seconds is answered 408 (a trickled body
    holds a connection no longer than that)."""
    chunks: list[bytes] = []
    size = 0
    timeout = BODY_TIMEOUT if timeout is None else timeout
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    return None
                chunks.append(chunk)
    except TimeoutError:
        raise HTTPException(408, f"request body not received within {timeout:g}s") from None
    return b"".join(chunks)


def partner_endpoint(keys: PartnerKeys, call: Caller) -> Callable[[Request], Awaitable[Response]]:
    """The Starlette endpoint; ``call`` runs the issuer's hook and returns what it returned."""

    async def receive(request: Request) -> Response:
        body = await read_body(request)
        if body is None:
            logger.warning("rejected partner alert: body over %d bytes", MAX_BODY)
            return _problem(413, f"body larger than {MAX_BODY} bytes")
        key_id, signature = request.headers.get(KEY_ID_HEADER, ""), request.headers.get(SIGNATURE_HEADER, "")
        if not key_id or not signature:
            logger.warning("rejected partner alert: unsigned (no %s / %s header)", KEY_ID_HEADER, SIGNATURE_HEADER)
            return _problem(401, f"unsigned: {KEY_ID_HEADER} and {SIGNATURE_HEADER} are required")
        try:
            key = await keys.key(key_id)
        except KeysUnavailable as exc:
            logger.error("partner alert not checked: %s; answering 503 so the sender retries", exc)
            return _problem(503, "the sender's public keys cannot be loaded")
        if key is None:
            logger.warning("rejected partner alert: unknown key identifier %r", key_id[:80])
            return _problem(401, "unknown key identifier")
        if not verify(key, body, signature):
            logger.warning("rejected partner alert: the signature does not verify (key %s)", key_id[:16])
            return _problem(401, "invalid signature")
        try:
            alerts = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            logger.warning("rejected partner alert: the signed body is not JSON")
            return _problem(400, "malformed JSON")
        if isinstance(alerts, list) and len(alerts) > MAX_ALERTS:
            logger.warning("rejected partner alert: %d alerts in one request (at most %d)", len(alerts), MAX_ALERTS)
            return _problem(413, f"{len(alerts)} alerts in one request; at most {MAX_ALERTS}")
        problem = _check_alerts(alerts)
        if problem is not None:
            logger.warning("rejected partner alert: %s", problem)
            return _problem(400, problem)
        return await _run(alerts, call)

    return receive


async def _run(alerts: list[dict[str, Any]], call: Caller) -> Response:
    labels: list[tuple[str, str, str]] = []
    now = datetime.now(UTC)
    for alert in alerts:
        event = normalise(alert, now)
        data = event["data"]
        logger.info("partner alert: type=%s sha256=%s source=%s", data["token_type"], data["token_sha256"][:8],
                    data["github_source"])
        try:
            label = _label(await call(event))
        except Exception as exc:
            logger.error("partner alert sha256=%s: revocation hook failed (%s); answering 500 so the sender "
                         "retries", data["token_sha256"][:8], type(exc).__name__)
            return _problem(500, "hook failed")
        if label:
            labels.append((data["token_sha256"], data["token_type"], label))
    return JSONResponse(feedback_entries(labels))
