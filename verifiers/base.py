"""The ``Verifier`` contract and the three-state ``Verdict``.

* ``live``: the issuer/provider accepted the token;
* ``inactive``: it determinately rejected it (each such branch cites the provider's documentation);
* ``unknown``: everything else — timeout, transport error, 5xx, 429, a body it cannot read, or a
  rule this verifier does not serve (then no request is made at all).

Verifiers use read-only endpoints only and never raise for transport problems; they never log the
token (they log nothing about findings at all: the pipeline does).
"""

from __future__ import annotations

import abc
import asyncio
import re
import time
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx

from crawler.config.model import PluginOptions, VerifierConfig
from crawler.detect.rules import Rule
from crawler.kernel.status import VerdictStatus

Status = VerdictStatus


@dataclass(frozen=True)
class Verdict:
    status: Status
    reason: str

    @classmethod
    def live(cls, reason: str) -> Verdict:
        return cls("live", reason)

    @classmethod
    def inactive(cls, reason: str) -> Verdict:
        return cls("inactive", reason)

    @classmethod
    def unknown(cls, reason: str) -> Verdict:
        return cls("unknown", reason)


class VerifierOptions(PluginOptions):
    """Plug-in specific keys of a ``[[verifiers]]`` table (override in each verifier)."""


class _RateLimiter:
    """At most ``rate`` calls per second (token bucket of size 1), shared by one verifier."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.next_at = 0.0
        self.lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self.lock:
            now = time.monotonic()
            delay = self.next_at - now
            self.next_at = max(now, self.next_at) + self.interval
        if delay > 0:
            await asyncio.sleep(delay)


class Verifier(abc.ABC):
    """Asks an issuer whether a token is live. Subclasses implement :meth:`check`.

    ``kind`` is the registry key (= module name). Provider verifiers list the built-in rule ids they
    serve in ``rules``; generic ones (``introspection``, ``http``) serve whatever rules name them.
    """

    kind: ClassVar[str]
    Options: ClassVar[type[VerifierOptions]] = VerifierOptions
    rules: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, config: VerifierConfig, client: httpx.AsyncClient,
                 options: PluginOptions | None = None) -> None:
        """``options`` is the table's validated ``Options`` (from :mod:`crawler.plugins`); without it the
        table's extra keys are validated here."""
        self.config = config
        self.options = options if isinstance(options, self.Options) else self.Options.model_validate(config.extras())
        self.client = client
        self._sem = asyncio.Semaphore(config.concurrency)
        self._rate = _RateLimiter(config.rate_per_second)

    @property
    def id(self) -> str:
        return self.config.id

    def serves(self, rule: Rule) -> bool:
        """Only the rules that name this verifier (by id, or by kind for provider rules)."""
        return rule.verifier in (self.config.id, self.kind) and (not self.rules or rule.id in self.rules
                                                                 or rule.verifier == self.config.id)

    async def verify(self, token: str, rule: Rule) -> Verdict:
        """Never raises for transport problems; makes no request for a rule it does not serve."""
        if not self.serves(rule):
            return Verdict.unknown(f"verifier {self.id} does not serve rule {rule.id}")
        async with self._sem:
            await self._rate.wait()
            deadline = DEADLINE_FACTOR * self.config.timeout
            try:
                # A whole check within twice the per-read timeout: an answer trickled a byte at a time
                # never hits the read timeout and would hold the verification (and its token) forever.
                async with asyncio.timeout(deadline):
                    return await self.check(token, rule)
            except TimeoutError:
                return Verdict.unknown(f"no complete answer within {deadline:g}s")
            except httpx.TimeoutException:
                return Verdict.unknown("timeout")
            except httpx.HTTPError as exc:
                return Verdict.unknown(f"transport error: {type(exc).__name__}")
            except (ValueError, KeyError, TypeError) as exc:
                return Verdict.unknown(f"unreadable response: {type(exc).__name__}")

    @abc.abstractmethod
    async def check(self, token: str, rule: Rule) -> Verdict:
        """One read-only request; map the answer to a Verdict."""

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One request with this verifier's ``timeout``; transport errors reach :meth:`verify`."""
        return await self.client.request(method, url, timeout=self.config.timeout, **kwargs)


DEADLINE_FACTOR = 2
"""A verifier's whole check (every request and body) has ``DEADLINE_FACTOR × timeout`` at most."""


def status_verdict(resp: httpx.Response, *, live: frozenset[int] = frozenset({200}),
                   inactive: frozenset[int] = frozenset({401})) -> Verdict | None:
    """Common mapping; returns ``None`` when the status alone does not decide."""
    if resp.status_code in live:
        return Verdict.live(f"HTTP {resp.status_code}")
    if resp.status_code in inactive:
        return Verdict.inactive(f"HTTP {resp.status_code}")
    if resp.status_code == 429 or resp.status_code >= 500:
        return Verdict.unknown(f"HTTP {resp.status_code}")
    return None


def json_object(resp: httpx.Response) -> dict[str, Any]:
    """The body as a JSON object; ``ValueError`` (→ ``unknown``) for anything else."""
    data = resp.json()
    if not isinstance(data, dict):
        raise ValueError("response body is not a JSON object")
    return data


# A provider's error code is short snake_case (Slack's ``token_revoked``); anything else, or anything
# that contains the token, is never copied into a reason.
_CODE = re.compile(r"[a-z][a-z0-9_.]{0,63}")


def safe_code(value: object, token: str) -> str:
    """``value`` if it is a short error code that does not contain the token, else ``"?"``."""
    if isinstance(value, str) and _CODE.fullmatch(value) and token not in value:
        return value
    return "?"


def has_key(resp: httpx.Response, key: str) -> bool:
    """A 2xx JSON object body that carries ``key`` (the documented shape of a success)."""
    return resp.is_success and key in json_object(resp)


def unexpected(provider: str, resp: httpx.Response) -> Verdict:
    """``unknown`` for an answer that decides nothing (429, 5xx, 403, 404, an odd 200 …)."""
    if resp.is_success:
        return Verdict.unknown(f"{provider} answered HTTP {resp.status_code} with an unexpected body")
    return Verdict.unknown(f"{provider} answered HTTP {resp.status_code}")


class IdentityVerifier(Verifier):
    """A provider whose read-only "who am I" endpoint answers 200 with ``live_key`` in a JSON object for a
    live token and ``inactive_status`` for a rejected one (a subclass sets the class attributes and cites
    the provider's documentation for both in ``docs``). The token goes in one header, never the URL."""

    provider: ClassVar[str]
    path: ClassVar[str]
    """Appended to the ``api_url`` option."""
    method: ClassVar[str] = "GET"
    """``POST`` only where the provider documents a bodiless, read-only check (Cohere's check-api-key)."""
    header: ClassVar[str] = "Authorization"
    scheme: ClassVar[str] = "Bearer "
    extra_headers: ClassVar[dict[str, str]] = {}
    live_key: ClassVar[str]
    inactive_status: ClassVar[frozenset[int]] = frozenset({401})
    docs: ClassVar[str]
    """Where the provider documents the success shape and the rejection status."""

    def url(self, token: str) -> str:
        return str(getattr(self.options, "api_url", "")).rstrip("/") + self.path

    async def check(self, token: str, rule: Rule) -> Verdict:
        headers = {**self.extra_headers, self.header: f"{self.scheme}{token}"}
        resp = await self.request(self.method, self.url(token), headers=headers)
        if resp.status_code in self.inactive_status:
            # The provider's documented answer for an invalid, revoked or expired token (``docs``).
            return Verdict.inactive(f"{self.provider} rejected the token (HTTP {resp.status_code})")
        if self.accepted(resp):
            # The documented success body of the identity endpoint (``docs``): the token authenticated.
            body = resp.json()
            verdict = self.judge(body) if isinstance(body, dict) else None
            return verdict or Verdict.live(f"{self.provider} accepted the token (HTTP {resp.status_code})")
        return unexpected(self.provider, resp)

    def accepted(self, resp: httpx.Response) -> bool:
        """The documented success shape: by default a 2xx JSON object carrying ``live_key``."""
        return has_key(resp, self.live_key)

    def judge(self, body: dict[str, Any]) -> Verdict | None:
        """A subclass whose success body can still say "not usable" (Cloudflare's ``status``) decides here."""
        return None
