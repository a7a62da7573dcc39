"""An Engine over respx-mocked endpoints: an introspection issuer and webhook receivers.

The issuer answers from sets the test fills (``live``, ``unavailable``); each webhook endpoint
records the requests it got and answers the responses queued for it (200 once the queue is empty).
Time is a :class:`FakeClock` injected into the Engine (the outbox uses ``engine.clock`` too).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from crawler.config.model import Config
from crawler.engine.pipeline import Engine
from crawler.plugins import build_config
from crawler.store.crypto import Cipher
from crawler.store.database import Store, open_store
from sources.base import Document
from tests.store.helpers import T0

INTROSPECT = "https://auth.acme.example/oauth2/introspect"
HOOK = "https://hooks.acme.example/leakpatrol"
HOOK_B = "https://hooks.beta.example/leakpatrol"
INTROSPECT_SECRET_ENV = "ACME_INTROSPECT_SECRET"
WEBHOOK_SECRET_ENV = "ACME_WEBHOOK_SECRET"
WEBHOOK_SECRET_B_ENV = "BETA_WEBHOOK_SECRET"


class FakeClock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


def rule(rule_id: str = "acme-live", prefix: str = "acme_live_", verifier: str | None = "acme-introspect"
         ) -> dict[str, Any]:
    return {"id": rule_id, "prefix": prefix, "charset": "base62", "length": 36, "checksum": "crc32-base62",
            "verifier": verifier, "severity": "critical"}


def webhook(notifier_id: str = "acme-revoke", url: str = HOOK, secret_env: str = WEBHOOK_SECRET_ENV,
            **extra: Any) -> dict[str, Any]:
    return {"id": notifier_id, "kind": "webhook", "url": url, "secret_env": secret_env, "on": ["live"], **extra}


def build(tmp_path: Path, *, url: str | None = None, rules: list[dict[str, Any]] | None = None,
          notifiers: list[dict[str, Any]] | None = None, verification: dict[str, Any] | None = None) -> Config:
    return build_config({
        "storage": {"url": url or f"sqlite:///{tmp_path / 'lp.db'}", "key_file": str(tmp_path / "lp.key")},
        "scanner": {"builtin_rules": False},
        "rules": rules or [rule()],
        "verifiers": [{"id": "acme-introspect", "kind": "introspection", "url": INTROSPECT,
                       "client_id": "leakpatrol", "client_secret_env": INTROSPECT_SECRET_ENV,
                       "rate_per_second": 1e6}],
        "verification": verification or {},
        "notifiers": [webhook()] if notifiers is None else notifiers,
    })


class Issuer:
    """RFC 7662 answers: ``{"active": true}`` for ``live``, 503 for ``unavailable``, else inactive."""

    def __init__(self, router: respx.MockRouter) -> None:
        self.live: set[str] = set()
        self.unavailable: set[str] = set()
        self.asked: list[str] = []
        self.route = router.post(INTROSPECT).mock(side_effect=self._answer)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"].startswith("Basic ")
        token = parse_qs(request.content.decode())["token"][0]
        self.asked.append(token)
        if token in self.unavailable:
            return httpx.Response(503, text="maintenance")
        return httpx.Response(200, json={"active": token in self.live})


@dataclass
class Endpoint:
    """One webhook URL: what it received and what it will answer next."""

    route: respx.Route
    answers: list[httpx.Response | BaseException] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.answers:
            answer = self.answers.pop(0)
            if isinstance(answer, BaseException):
                raise answer
            return answer
        return httpx.Response(200, json={"ok": True})

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]

    @property
    def ids(self) -> list[str]:
        return [r.headers["webhook-id"] for r in self.requests]


def endpoint(router: respx.MockRouter, url: str = HOOK) -> Endpoint:
    ep = Endpoint(router.post(url))
    ep.route.mock(side_effect=ep)
    return ep


@dataclass
class Harness:
    cfg: Config
    store: Store
    engine: Engine
    clock: FakeClock


@asynccontextmanager
async def running(cfg: Config, clock: FakeClock | None = None, store: Store | None = None
                  ) -> AsyncIterator[Harness]:
    """An Engine (and its store, unless given) for ``cfg``."""
    clock = clock or FakeClock()
    own = store is None
    store = store or open_store(cfg.database_url(), Cipher(os.urandom(32)))
    try:
        async with Engine(cfg, store, owner="test-owner", clock=clock) as engine:
            yield Harness(cfg, store, engine, clock)
    finally:
        if own:
            store.close()


def secrets(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {INTROSPECT_SECRET_ENV: "introspect-client-secret", WEBHOOK_SECRET_ENV: new_secret(),
              WEBHOOK_SECRET_B_ENV: new_secret()}
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    return values


def doc(text: str, *, url: str = "https://gist.github.com/someone/abc123", key: str = "k1",
        path: str | None = "config.env", source: str = "github_gists", is_patch: bool = False,
        published_at: datetime | None = None) -> Document:
    return Document(url=url, content=text.encode(), source=source, key=key, path=path, is_patch=is_patch,
                    published_at=published_at)
