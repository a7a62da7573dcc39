"""Issue 11, "silenced for good by one 410": the notifier its endpoint disabled stayed disabled across
restarts with no way back. Now ``leakpatrol notifiers`` lists it with its reason, ``notifiers enable
ID`` re-enables it (the turned-away deliveries resume, in a running engine too), and a changed URL in
the config re-enables it at start, saying so in the log."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import respx

import crawler.engine.pipeline as pipeline
from crawler.config.model import Config
from crawler.kernel.clock import utcnow
from crawler.plugins import load_config
from crawler.store.crypto import load_cipher
from crawler.store.database import open_store
from tests.cli.helpers import ACME_RULE, run
from tests.pipeline.helpers import HOOK, HOOK_B, INTROSPECT, FakeClock, Harness, Issuer, endpoint, running, secrets
from tests.pipeline.test_outbox import leak


def config(tmp_path: Path, url: str = HOOK) -> Path:
    path = tmp_path / "leakpatrol.toml"
    path.write_text(f"""
[storage]
url = "sqlite:///{tmp_path / 'lp.db'}"
key_file = "{tmp_path / 'lp.key'}"

[scanner]
builtin_rules = false
{ACME_RULE}verifier = "acme-introspect"

[[verifiers]]
id = "acme-introspect"
kind = "introspection"
url = "{INTROSPECT}"
client_id = "leakpatrol"
client_secret_env = "ACME_INTROSPECT_SECRET"

[[notifiers]]
id = "acme-revoke"
kind = "webhook"
url = "{url}"
secret_env = "ACME_WEBHOOK_SECRET"
on = ["live"]
""", encoding="utf-8")
    return path


@asynccontextmanager
async def engine(cfg: Config) -> AsyncIterator[Harness]:
    store = open_store(cfg.database_url(), load_cipher(cfg, create=True))
    try:
        async with running(cfg, FakeClock(utcnow()), store=store) as h:  # the CLI writes real times
            yield h
    finally:
        store.close()


async def test_a_disabled_notifier_is_listed_and_enable_brings_it_back_with_its_deliveries(
        tmp_path: Path, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], restore_logging: None) -> None:
    secrets(monkeypatch)
    issuer, hook = Issuer(no_network), endpoint(no_network)
    hook.answers.append(httpx.Response(410))
    path = config(tmp_path)
    cfg = load_config(str(path))
    async with engine(cfg) as h:
        first = await leak(h, issuer)  # 410: disabled
        second = await leak(h, issuer)  # queued while disabled
        assert "acme-revoke" not in h.engine.notifiers
    listed = run(capsys, "notifiers", "-c", str(path), "--format", "json").json()["notifiers"]
    assert [(n["id"], n["state"], n["pending_deliveries"]) for n in listed] == [("acme-revoke", "disabled", 1)]
    assert "410" in listed[0]["reason"]
    table = run(capsys, "notifiers", "-c", str(path))
    assert "disabled" in table.out and "endpoint gone" in table.out
    enabled = run(capsys, "notifiers", "enable", "acme-revoke", "-c", str(path))
    assert enabled.code == 0 and "re-enabled; 1 deliveries resume" in enabled.out
    assert "enabled" in run(capsys, "notifiers", "-c", str(path)).out
    async with engine(cfg) as h:  # the endpoint is fixed: both tokens reach it now
        assert "acme-revoke" in h.engine.notifiers
        await h.engine.deliver_due()
        statuses = sorted(d.status for d in h.store.deliveries())
    assert statuses == ["delivered", "delivered"]
    sent = " ".join(r.content.decode() for r in hook.requests[1:])
    assert first in sent and second in sent


async def test_enable_of_an_unknown_notifier_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             restore_logging: None) -> None:
    secrets(monkeypatch)
    path = config(tmp_path)
    async with engine(load_config(str(path))):
        pass
    res = run(capsys, "notifiers", "enable", "nope", "-c", str(path))
    assert res.code == 2 and "no notifier 'nope'" in res.err


async def test_a_running_engine_picks_up_a_notifier_enabled_from_the_cli(
        tmp_path: Path, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets(monkeypatch)
    monkeypatch.setattr(pipeline, "WAKE_EVERY", 0.0)
    issuer, hook = Issuer(no_network), endpoint(no_network)
    hook.answers.append(httpx.Response(410))
    async with engine(load_config(str(config(tmp_path)))) as h:
        token = await leak(h, issuer)
        assert "acme-revoke" in h.engine.sleeping
        assert h.store.enable_notifier("acme-revoke", h.clock()) == 1
        assert await h.engine.deliver_due() == 1
        assert "acme-revoke" in h.engine.notifiers
    assert token in hook.requests[-1].content.decode()


async def test_a_changed_url_re_enables_the_notifier_at_start_and_says_so(
        tmp_path: Path, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    secrets(monkeypatch)
    issuer, old = Issuer(no_network), endpoint(no_network)
    new = endpoint(no_network, HOOK_B)
    old.answers.append(httpx.Response(410))
    async with engine(load_config(str(config(tmp_path)))) as h:
        token = await leak(h, issuer)
    async with engine(load_config(str(config(tmp_path)))) as h:  # same URL: stays disabled
        assert "acme-revoke" not in h.engine.notifiers
    async with engine(load_config(str(config(tmp_path, url=HOOK_B)))) as h:
        assert "acme-revoke" in h.engine.notifiers
        await h.engine.deliver_due()
    assert any("re-enabled: its URL changed" in r.getMessage() for r in caplog.records)
    assert len(new.requests) == 1 and token in new.requests[0].content.decode()
