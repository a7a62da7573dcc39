"""Delivery semantics (DESIGN.md "Revocation webhook"): retries keep the webhook-id and respect the
back-off, 410 disables, other 4xx fail, ``give_up_after`` dead-letters. Time is the Engine's clock."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from sqlmodel import Session
from standardwebhooks import Webhook

from crawler.detect.redaction import fingerprint
from crawler.engine.delivery import webhook_id
from crawler.store.crypto import Cipher
from crawler.store.database import open_store
from crawler.store.models import Delivery, Verification
from tests.pipeline.helpers import (
    WEBHOOK_SECRET_ENV,
    FakeClock,
    Harness,
    Issuer,
    build,
    doc,
    endpoint,
    running,
    secrets,
    webhook,
)
from tests.store.helpers import T0, new_token


async def leak(h: Harness, issuer: Issuer) -> str:
    token = new_token()
    issuer.live.add(token)
    await h.engine.process([doc(f"KEY={token}\n", key=token)])
    return token


def only_row(h: Harness) -> Delivery:
    [row] = h.store.deliveries()
    return row


async def test_503_then_200_is_delivered_on_the_retry_with_the_same_id(
        tmp_path: Path, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    env = secrets(monkeypatch)
    issuer, hook = Issuer(no_network), endpoint(no_network)
    hook.answers.append(httpx.Response(503))
    async with running(build(tmp_path)) as h:
        token = await leak(h, issuer)
        row = only_row(h)
        assert (row.status, row.attempts, row.last_status, row.last_attempt_at) == ("pending", 1, 503, T0)
        assert row.next_attempt_at is not None
        first_wait = (row.next_attempt_at - T0).total_seconds()
        assert 1.0 <= first_wait <= 2.0  # first step of the exponential back-off (2 s, jittered)
        h.clock.now = row.next_attempt_at - timedelta(milliseconds=1)
        assert await h.engine.deliver_due() == 0
        assert len(hook.requests) == 1  # not before next_attempt_at
        h.clock.now = row.next_attempt_at
        assert await h.engine.deliver_due() == 1
        row = only_row(h)
    assert hook.ids == [webhook_id("acme-revoke", fingerprint(token))] * 2
    assert (row.status, row.attempts, row.delivered_at) == ("delivered", 2, T0 + timedelta(seconds=first_wait))
    for request in hook.requests:
        Webhook(env[WEBHOOK_SECRET_ENV]).verify(request.content, dict(request.headers))
    assert hook.bodies[0]["data"] == hook.bodies[1]["data"]


async def test_backoff_grows_and_is_capped_by_max_backoff(
        tmp_path: Path, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets(monkeypatch)
    issuer, hook = Issuer(no_network), endpoint(no_network)
    hook.answers.extend([httpx.Response(500)] * 7)
    async with running(build(tmp_path, notifiers=[webhook(max_backoff="20s")])) as h:
        await leak(h, issuer)
        waits = []
        for _ in range(7):
            row = only_row(h)
            assert row.next_attempt_at is not None and row.last_attempt_at is not None
            waits.append((row.next_attempt_at - row.last_attempt_at).total_seconds())
            h.clock.now = row.next_attempt_at
            await h.engine.deliver_due()
        row = only_row(h)
    assert row.status == "delivered" and row.attempts == 8
    for n, wait in enumerate(waits[:4], start=1):  # 2^n s with 50-100 % jitter
        assert 2.0 ** n / 2 <= wait <= 2.0 ** n, (n, waits)
    assert 16.0 <= waits[4] <= 20.0, waits  # 2^5 s with jitter is 16-32 s, capped at max_backoff
    assert waits[5:] == [20.0, 20.0]  # from 2^6 s on, even the lowest jitter is past the cap
    assert len(set(hook.ids)) == 1


@pytest.mark.parametrize(("status", "max_backoff", "expected"), [(429, None, 300.0), (503, "60s", 60.0)])
async def test_retry_after_is_honoured_up_to_max_backoff(
        status: int, max_backoff: str | None, expected: float, tmp_path: Path, no_network: respx.MockRouter,
        monkeypatch: pytest.MonkeyPatch) -> None:
    secrets(monkeypatch)
    issuer, hook = Issuer(no_network), endpoint(no_network)
    hook.answers.append(httpx.Response(status, headers={"Retry-After": "300"}))
    extra = {"max_backoff": max_backoff} if max_backoff else {}
    async with running(build(tmp_path, notifiers=[webhook(**extra)])) as h:
        await leak(h, issuer)
        row = only_row(h)
    assert row.status == "pending" and row.next_attempt_at == T0 + timedelta(seconds=expected)


async def test_a_timeout_is_retried(tmp_path: Path, no_network: respx.MockRouter,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    secrets(monkeypatch)
    issuer, hook = Issuer(no_network), endpoint(no_network)
    hook.answers.append(httpx.ReadTimeout("slow"))
    async with running(build(tmp_path)) as h:
        await leak(h, issuer)
        row = only_row(h)
        assert (row.status, row.last_error) == ("pending", "timeout (ReadTimeout)")
        assert row.next_attempt_at is not None
        h.clock.now = row.next_attempt_at
        assert await h.engine.deliver_due() == 1
    assert len(hook.requests) == 2


async def test_410_disables_the_notifier_and_marks_the_row(
        tmp_path: Path, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    secrets(monkeypatch)
    issuer, hook = Issuer(no_network), endpoint(no_network)
    hook.answers.append(httpx.Response(410))
    cfg = build(tmp_path)
    async with running(cfg) as h:
        await leak(h, issuer)
        row = only_row(h)
        assert (row.status, row.last_status) == ("disabled", 410)
        assert h.store.disabled_notifiers() == {"acme-revoke"} and "acme-revoke" not in h.engine.notifiers
        assert any("DISABLED" in r.getMessage() and r.levelname == "ERROR" for r in caplog.records)
        second = await leak(h, issuer)  # queued (visible), never sent
        h.clock.advance(3600)
        await h.engine.deliver_due()
        store = h.store
        assert {d.status for d in store.deliveries()} == {"disabled", "pending"}
        async with running(cfg, clock=FakeClock(T0 + timedelta(days=1)), store=store) as again:
            assert "acme-revoke" not in again.engine.notifiers  # stays disabled across restarts
            await again.engine.deliver_due()
    assert len(hook.requests) == 1 and second not in hook.requests[0].content.decode()


@pytest.mark.parametrize("status", [400, 401, 404, 301])
async def test_other_4xx_and_redirects_fail_permanently(
        status: int, tmp_path: Path, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets(monkeypatch)
    issuer, hook = Issuer(no_network), endpoint(no_network)
    hook.answers.append(httpx.Response(status, headers={"Location": "https://elsewhere.example/"}))
    async with running(build(tmp_path)) as h:
        await leak(h, issuer)
        h.clock.advance(86400)
        await h.engine.deliver_due()
        row = only_row(h)
    assert (row.status, row.last_status, row.attempts) == ("failed", status, 1)
    assert len(hook.requests) == 1
    assert {call.request.url.host for call in no_network.calls} == {"auth.acme.example", "hooks.acme.example"}


async def test_give_up_after_dead_letters(tmp_path: Path, no_network: respx.MockRouter,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    secrets(monkeypatch)
    issuer, hook = Issuer(no_network), endpoint(no_network)
    hook.answers.extend([httpx.Response(503)] * 10)
    async with running(build(tmp_path, notifiers=[webhook(give_up_after="30s", max_backoff="10s")])) as h:
        await leak(h, issuer)
        while only_row(h).status == "pending":
            row = only_row(h)
            assert row.next_attempt_at is not None
            h.clock.now = row.next_attempt_at
            await h.engine.deliver_due()
        row = only_row(h)
        assert row.status == "dead" and row.last_status == 503
        assert row.last_attempt_at is not None and row.last_attempt_at - T0 >= timedelta(seconds=30)
        assert row.last_attempt_at - T0 < timedelta(seconds=40)
        h.clock.advance(3600)
        assert await h.engine.deliver_due() == 0
    assert len(hook.requests) == row.attempts and len(set(hook.ids)) == 1


async def test_a_response_body_echoing_the_token_is_not_stored(
        tmp_path: Path, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets(monkeypatch)
    issuer, hook = Issuer(no_network), endpoint(no_network)
    hook.route.mock(side_effect=lambda request: httpx.Response(
        400, text=f"bad token {request.content.decode().split(chr(34) + 'token' + chr(34) + ':')[1][1:47]}"))
    async with running(build(tmp_path)) as h:
        token = await leak(h, issuer)
        row = only_row(h)
    assert row.status == "failed" and row.last_error.startswith("HTTP 400: bad token acme_live_")
    assert token not in row.last_error and fingerprint(token)[:8] in row.last_error


async def test_a_crashed_attempt_is_retried_with_the_same_id_once_the_claim_expires(
        tmp_path: Path, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    """The row is committed before the attempt; a process that dies mid-attempt leaves it pending."""
    secrets(monkeypatch)
    issuer, hook = Issuer(no_network), endpoint(no_network)
    cfg = build(tmp_path)

    class Crash(BaseException):
        pass

    hook.answers.append(Crash())
    async with running(cfg) as h:
        with pytest.raises(Crash):
            await leak(h, issuer)
        row = only_row(h)
        assert (row.status, row.attempts, row.claimed_by) == ("pending", 0, "test-owner")
        store = h.store
        later = FakeClock(T0 + timedelta(seconds=10))
        async with running(cfg, clock=later, store=store) as other:
            other.engine.owner = other.engine.outbox.owner = "another-process"
            assert await other.engine.deliver_due() == 0  # the dead process's claim still holds
            later.advance(300)
            assert await other.engine.deliver_due() == 1
        row = only_row(h)
    assert row.status == "delivered" and len(hook.requests) == 2 and len(set(hook.ids)) == 1


async def test_a_crash_while_committing_the_verdict_loses_nothing_and_delivers_once(
        tmp_path: Path, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    """Killed while the verdict and its outbox rows commit (one transaction): neither is kept, the
    token stays pending, the next ``recheck_due`` verifies it again and its row is delivered once."""
    secrets(monkeypatch)
    issuer, hook = Issuer(no_network), endpoint(no_network)
    cfg = build(tmp_path)

    class Crash(BaseException):
        pass

    async with running(cfg) as h:
        real_commit = Session.commit

        def crash_on_verdict(session: Session) -> None:
            if any(isinstance(obj, Verification) for obj in session.new):
                raise Crash  # the process dies here: the transaction is never committed
            real_commit(session)

        monkeypatch.setattr(Session, "commit", crash_on_verdict)
        with pytest.raises(Crash):
            await leak(h, issuer)
        monkeypatch.setattr(Session, "commit", real_commit)
        [tok] = h.store.tokens()
        assert tok.status == "pending" and h.store.deliveries() == [] and h.store.verifications() == []
        assert await h.engine.deliver_due() == 0 and hook.requests == []
        async with running(cfg, clock=FakeClock(T0 + timedelta(seconds=5)), store=h.store) as again:
            assert await again.engine.recheck_due() == 1
            await again.engine.deliver_due()
        row = only_row(h)
    assert row.status == "delivered" and len(hook.requests) == 1 and len(issuer.asked) == 2
    assert hook.bodies[0]["data"]["status"] == "live"


def test_a_row_whose_token_has_no_verdict_yet_waits(tmp_path: Path) -> None:
    """An outbox row of a still-pending token (left by an older version between its two commits) is
    not offered for delivery until the verdict is recorded; a report row is always offered."""
    store = open_store(f"sqlite:///{tmp_path / 'lp.db'}", Cipher(os.urandom(32)))
    try:
        tid = store.record(token=b"x" * 10, fingerprint="f" * 64, rule="r", severity="high", redacted="r…",
                           source="s", url="https://e.example/", path=None, line=1, published_at=None,
                           now=T0).token_id
        store.enqueue(webhook_id="msg_t", notifier="hook", token_id=tid, event_type="token.exposed", now=T0)
        store.enqueue(webhook_id="msg_r", notifier="hook", token_id=None, event_type="report.weekly", now=T0)
        assert [d.webhook_id for d in store.deliverable(T0)] == ["msg_r"]
        store.record_verdict(tid, "v", "live", "ok", next_check_at=None, now=T0)
        assert sorted(d.webhook_id for d in store.deliverable(T0)) == ["msg_r", "msg_t"]
    finally:
        store.close()


async def test_the_delivery_job_keeps_the_outbox_gauge_current(
        tmp_path: Path, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets(monkeypatch)
    issuer, hook = Issuer(no_network), endpoint(no_network)
    hook.answers.extend([httpx.Response(503), httpx.Response(503)])

    def gauge(h: Any) -> float | None:
        value: float | None = h.engine.metrics.registry.get_sample_value("leakpatrol_outbox_pending")
        return value

    async with running(build(tmp_path)) as h:
        await leak(h, issuer)  # the inline attempt got a 503: one row waits
        assert gauge(h) == 0.0  # not refreshed by anything but the delivery job (and nothing ran yet)
        await h.engine.deliver_due()  # not due yet: nothing sent, but the job counts what waits
        assert gauge(h) == 1.0 and len(hook.requests) == 1
        h.clock.now = only_row(h).next_attempt_at or h.clock.now
        await h.engine.deliver_due()  # second 503
        assert gauge(h) == 1.0
        h.clock.now = only_row(h).next_attempt_at or h.clock.now
        await h.engine.deliver_due()  # delivered
        assert gauge(h) == 0.0 and only_row(h).status == "delivered"
