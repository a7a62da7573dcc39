"""A source's runner over respx-mocked APIs, with the real engine and store (SQLite), for the
hostile-input tests of issue 11."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from crawler.engine.polling import SourceRunner
from crawler.kernel.retry import RetryPolicy
from crawler.plugins import build_config
from crawler.store.crypto import Cipher
from crawler.store.database import open_store
from tests.pipeline.helpers import INTROSPECT, INTROSPECT_SECRET_ENV, FakeClock, Harness, running, secrets


@asynccontextmanager
async def source_runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sources: dict[str, Any],
                        http: dict[str, Any] | None = None, clock: FakeClock | None = None
                        ) -> AsyncIterator[tuple[Harness, SourceRunner]]:
    """The first configured source's runner (no retry sleeps), the acme rule, no notifier."""
    secrets(monkeypatch)
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-not-a-real-one")
    cfg = build_config({
        "storage": {"url": f"sqlite:///{tmp_path / 'lp.db'}", "key_file": str(tmp_path / "lp.key")},
        "http": {"transport": "httpcore", **(http or {})},  # respx sits on httpx's own transport
        "scanner": {"builtin_rules": False},
        "rules": [{"id": "acme-live", "prefix": "acme_live_", "charset": "base62", "length": 36,
                   "checksum": "crc32-base62"}],
        "verifiers": [{"id": "acme-introspect", "kind": "introspection", "url": INTROSPECT,
                       "client_id": "leakpatrol", "client_secret_env": INTROSPECT_SECRET_ENV}],
        "notifiers": [],
        "sources": sources,
    })
    store = open_store(cfg.database_url(), Cipher(os.urandom(32)))

    async def no_sleep(_: float) -> None:
        return None

    try:
        async with running(cfg, clock or FakeClock(), store) as h, AsyncExitStack() as stack:
            yield h, SourceRunner(h.engine, cfg.source_specs[0], stack, RetryPolicy(sleep=no_sleep))
    finally:
        store.close()


def gists_runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **kw: Any
                 ) -> Any:
    return source_runner(tmp_path, monkeypatch, {"github_gists": {"interval": "60s"}}, **kw)
