"""The one retry policy (tenacity), and how responses are classified.

* transient: 408, 429, 5xx, transport errors and timeouts → retried with exponential backoff and
  jitter, honouring ``Retry-After``;
* rate limits: ``Retry-After``, ``X-RateLimit-Remaining: 0`` + ``X-RateLimit-Reset`` (GitHub),
  ``RateLimit-Remaining: 0`` + ``RateLimit-Reset`` (GitLab), GitHub's secondary-rate-limit 403
  (recognised by its body: "secondary rate limit", formerly "abuse detection"), and a spent quota
  whose reset time is missing (a 403 with ``X-RateLimit-Remaining: 0`` or "rate limit exceeded": 60 s).
  A wait longer than ``inline_limit`` is not slept here: it is raised as :class:`RateLimited` so the
  scheduler stores the back-off and other sources keep running.

Tests build a policy with ``sleep`` recording the waits instead of sleeping.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from crawler.kernel.backoff import Backoff
from crawler.kernel.errors import RateLimited, SourceUnavailable

logger = logging.getLogger(__name__)

RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524})
TRANSPORT_ERRORS = (httpx.TransportError,)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def rate_limit_wait(resp: httpx.Response, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait, or ``None`` if this response is not a rate limit."""
    now = time.time() if now is None else now
    after = parse_retry_after(resp.headers.get("Retry-After"), now)
    if resp.status_code in (403, 429):
        if after is not None:
            return after
        for remaining, reset in (("X-RateLimit-Remaining", "X-RateLimit-Reset"),
                                 ("RateLimit-Remaining", "RateLimit-Reset")):
            if resp.headers.get(remaining) == "0" and resp.headers.get(reset, "").isdigit():
                value = int(resp.headers[reset])
                # GitHub/GitLab send epoch seconds; IETF draft RateLimit-Reset sends delta seconds.
                return max(0.0, value - now) if value > 1_000_000_000 else float(value)
        body = resp.content[:4096].lower()
        if resp.status_code == 403 and (b"secondary rate limit" in body or b"abuse detection" in body):
            return 60.0  # GitHub: "wait at least one minute" when no Retry-After is given
        if resp.status_code == 403 and (resp.headers.get("X-RateLimit-Remaining") == "0"
                                        or b"rate limit exceeded" in body):
            return 60.0  # a spent quota without its reset time (older GitHub): ask again in a minute
        if resp.status_code == 429:
            return None  # transient with backoff
    return None


def clamp_wait(seconds: float, maximum: float, owner: str, what: str) -> float:
    """A server-given wait bounded to ``maximum`` (logged when clamped): one answer such as
    ``Retry-After: 999999999`` never mutes a source for decades, and ``1e20`` never overflows."""
    if math.isnan(seconds):
        return 0.0
    if seconds > maximum:
        logger.warning("%s: %s asked for a wait of %.3gs; clamped to %.0fs", owner, what, seconds, maximum)
        return maximum
    return max(0.0, seconds)


class _Transient(Exception):
    def __init__(self, why: str, wait: float | None) -> None:
        super().__init__(why)
        self.why, self.wait = why, wait


@dataclass
class RetryPolicy:
    attempts: int = 3
    base: float = 0.5
    max_wait: float = 8.0
    inline_limit: float = 5.0
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep)
    clock: Callable[[], float] = field(default=time.time)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Transient) and exc.wait is not None:
            return float(exc.wait)
        return Backoff(self.base, self.max_wait, jitter=0.5).delay(state.attempt_number)

    async def send(self, owner: str, call: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response:
        """Run ``call`` under the policy; return a non-transient response or raise a SourceError."""

        def log(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            logger.info("%s: %s; retry %d/%d in %.1fs", owner, exc, state.attempt_number, self.attempts,
                        state.upcoming_sleep)

        retrying = AsyncRetrying(stop=stop_after_attempt(self.attempts), wait=self._wait,
                                 retry=retry_if_exception_type(_Transient), sleep=self.sleep,
                                 before_sleep=log, reraise=True)
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._once(owner, call)
        except _Transient as exc:
            if exc.wait is not None and exc.wait > 0:
                raise RateLimited(owner, exc.wait, exc.why) from None
            raise SourceUnavailable(owner, exc.why) from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _once(self, owner: str, call: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response:
        try:
            resp = await call()
        except httpx.TimeoutException as exc:
            raise _Transient(f"timeout ({type(exc).__name__})", None) from None
        except TRANSPORT_ERRORS as exc:
            raise _Transient(f"transport error ({type(exc).__name__})", None) from None
        wait = rate_limit_wait(resp, self.clock())
        if wait is not None:
            if wait > self.inline_limit:
                raise RateLimited(owner, wait, f"HTTP {resp.status_code}")
            raise _Transient(f"HTTP {resp.status_code} rate limit", wait)
        if resp.status_code in RETRY_STATUS:
            raise _Transient(f"HTTP {resp.status_code}", None)
        return resp
