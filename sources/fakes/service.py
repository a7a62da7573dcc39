"""What every fake service shares: a request log, fault injection and small response helpers.

A :class:`Service` owns a Starlette router mounted under ``prefix`` on the sandbox's one loopback
port. Its ASGI wrapper logs each request (method, path, time, a few headers, never a credential)
and answers an injected fault instead of the real handler while one is pending.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Router
from starlette.types import Message, Receive, Scope, Send

LOGGED_HEADERS = ("user-agent", "accept", "if-none-match", "authorization", "content-type")


@dataclass(frozen=True)
class RequestRecord:
    """One request as the sandbox saw it. ``authorization`` keeps only its scheme (``Bearer``)."""

    service: str
    method: str
    path: str
    query: str
    time: float
    """``time.monotonic()`` when the request arrived."""
    headers: Mapping[str, str]
    status: int = 0


@dataclass(frozen=True)
class Published:
    """Something the sandbox made public: when, where a human sees it, and its id."""

    source: str
    key: str
    url: str
    published_at: float
    """``time.time()`` at publication."""
    iso: str
    """The timestamp the service shows for it (``created_at``, ``date`` …)."""
    raw_urls: tuple[str, ...] = ()


@dataclass
class Fault:
    status: int
    times: int
    retry_after: float | None = None
    body: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    path: str | None = None
    malformed: bool = False


def iso(ts: float, *, millis: bool = False) -> str:
    """``2026-11-28T22:00:00Z`` (GitHub) or ``2026-11-28T22:00:00.123Z`` (GitLab)."""
    dt = datetime.fromtimestamp(ts, UTC)
    if millis:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str) -> float | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def sha1_hex(*parts: object) -> str:
    return hashlib.sha1("\x00".join(map(str, parts)).encode(), usedforsecurity=False).hexdigest()


def json_response(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    body = json.dumps(data, separators=(",", ":")).encode()
    return Response(body, status, headers=dict(headers or {}), media_type="application/json; charset=utf-8")


def int_param(request: Request, name: str, default: int, lo: int = 1, hi: int = 100) -> int:
    try:
        value = int(request.query_params.get(name, default))
    except ValueError:
        value = default
    return max(lo, min(hi, value))


def link_header(url: str, params: Mapping[str, object], page: int, last: int) -> str:
    """RFC 8288 ``Link`` with ``prev``/``next``/``last``/``first`` like GitHub and GitLab send."""

    def at(p: int) -> str:
        query = "&".join(f"{k}={v}" for k, v in {**params, "page": p}.items())
        return f"<{url}?{query}>"

    rels = []
    if page > 1:
        rels += [f'{at(page - 1)}; rel="prev"']
    if page < last:
        rels += [f'{at(page + 1)}; rel="next"', f'{at(last)}; rel="last"']
    if page > 1:
        rels += [f'{at(1)}; rel="first"']
    return ", ".join(rels)


class Bounded(OrderedDict[str, Any]):
    """An insertion-ordered dict that forgets its oldest entries (keeps soak runs flat)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        while len(self) > self.limit:
            self.popitem(last=False)


class RateWindow:
    """A fixed-window quota like GitHub's ``core``/``search`` resources."""

    def __init__(self, resource: str, limit: int, window: float) -> None:
        self.resource, self.limit, self.window = resource, limit, window
        self.reset_at, self.used = time.time() + window, 0

    def take(self) -> bool:
        now = time.time()
        if now >= self.reset_at:
            self.reset_at, self.used = now + self.window, 0
        if self.used >= self.limit:
            return False
        self.used += 1
        return True

    def headers(self) -> dict[str, str]:
        return {"X-RateLimit-Limit": str(self.limit), "X-RateLimit-Remaining": str(max(0, self.limit - self.used)),
                "X-RateLimit-Reset": str(math.ceil(self.reset_at)), "X-RateLimit-Used": str(self.used),
                "X-RateLimit-Resource": self.resource}


class Service:
    """Base of the fake services. Subclasses set ``name``/``prefix`` and implement :meth:`routes`.

    Every service takes the sandbox-wide options ``poll_interval`` (the interval it asks clients to
    keep, where the real service says one, e.g. GitHub's ``X-Poll-Interval``) and ``max_items`` (how
    many published items it remembers); its own options (rate limits …) are keyword arguments too.
    """

    name = "service"
    prefix = ""

    def __init__(self, *, poll_interval: float = 60.0, max_items: int = 5000) -> None:
        self.poll_interval = poll_interval
        self.max_items = max_items
        self.base_url = ""
        self.lock = threading.Lock()
        self.log: list[RequestRecord] = []
        self._faults: list[Fault] = []
        self._router = Router(routes=list(self.routes()))

    # ---- configuration --------------------------------------------------------------------

    def bind(self, root_url: str) -> None:
        """Called once the port is known: ``root_url`` is ``http://127.0.0.1:PORT``."""
        self.base_url = root_url + self.prefix

    def routes(self) -> Iterable[BaseRoute]:
        raise NotImplementedError

    def root_routes(self) -> Iterable[BaseRoute]:
        """Host-wide routes this service answers outside its prefix (``/robots.txt``); none by default."""
        return ()

    def inject(self, status: int = 503, *, times: int = 1, retry_after: float | None = None,
               body: str | bytes | None = None, headers: Mapping[str, str] | None = None,
               path: str | None = None) -> None:
        """Answer the next ``times`` requests (to routes starting with ``path``) with ``status``."""
        raw = body.encode() if isinstance(body, str) else body
        with self.lock:
            self._faults.append(Fault(status, times, retry_after, raw, dict(headers or {}), path))

    def malformed(self, *, times: int = 1, path: str | None = None) -> None:
        """Answer the next ``times`` requests with a 200 whose body is not what the client expects."""
        with self.lock:
            self._faults.append(Fault(200, times, path=path, malformed=True))

    def clear_faults(self) -> None:
        with self.lock:
            self._faults.clear()

    # ---- hooks for subclasses -------------------------------------------------------------

    def fault_body(self, status: int) -> tuple[bytes, str]:
        """The body the real service sends with ``status`` (overridden per service)."""
        return json.dumps({"message": f"HTTP {status}"}).encode(), "application/json; charset=utf-8"

    def malformed_body(self, path: str) -> tuple[bytes, str]:
        return b'[{"id": "1", "type": "Push', "application/json; charset=utf-8"

    # ---- ASGI ------------------------------------------------------------------------------

    def requests(self, path: str | None = None) -> list[RequestRecord]:
        """Logged requests, optionally only those whose route path starts with ``path``."""
        with self.lock:
            log = list(self.log)
        return [r for r in log if path is None or r.path.startswith(self.prefix + path)]

    def _take_fault(self, route: str) -> Fault | None:
        with self.lock:
            for fault in self._faults:
                if fault.path is None or route.startswith(fault.path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def _fault_response(self, fault: Fault, route: str) -> Response:
        if fault.malformed:
            body, media = self.malformed_body(route)
            return Response(body, 200, media_type=media)
        default, media = self.fault_body(fault.status)
        headers = dict(fault.headers)
        if fault.retry_after is not None:
            headers["Retry-After"] = f"{fault.retry_after:g}"
        return Response(fault.body if fault.body is not None else default, fault.status,
                        headers=headers, media_type=media)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._router(scope, receive, send)
            return
        path: str = scope["path"]
        route = path[len(self.prefix):] if path.startswith(self.prefix) else path
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        kept = {k: headers[k] for k in LOGGED_HEADERS if k in headers}
        if "authorization" in kept:
            kept["authorization"] = kept["authorization"].split(" ", 1)[0]
        status = [0]

        async def send_logged(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        arrived = time.monotonic()
        try:
            fault = self._take_fault(route)
            if fault is not None:
                await self._fault_response(fault, route)(scope, receive, send_logged)
            else:
                await self._router(scope, receive, send_logged)
        finally:
            record = RequestRecord(self.name, scope["method"], path, scope["query_string"].decode("latin-1"),
                                   arrived, kept, status[0])
            with self.lock:
                self.log.append(record)
                if len(self.log) > 100_000:
                    del self.log[:50_000]
