"""The reference receiver: signature and timestamp checks, durable replay protection, hook semantics."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook
from starlette.applications import Starlette

from crawler.config.model import NotifierConfig
from crawler.detect.mint import mint
from crawler.http import make_client
from crawler.kernel.serve import AppServer
from crawler.notifiers.webhook import WebhookNotifier, payload
from crawler.receiver.app import create_app
from tests.notifiers.helpers import RULE, exposure_event, new_secret


@pytest.fixture
def token() -> str:
    return mint(RULE)


@pytest.fixture
def secret() -> str:
    return new_secret()


class Recorder:
    """A hook that records events and can be told to fail."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.fail_with: Exception | None = None

    async def __call__(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        if self.fail_with is not None:
            raise self.fail_with


def signed(secret: str, body: str, msg_id: str, at: float | None = None) -> dict[str, str]:
    stamp = int(time.time() if at is None else at)
    sig = Webhook(secret).sign(msg_id, datetime.fromtimestamp(stamp, UTC), body)
    return {"webhook-id": msg_id, "webhook-timestamp": str(stamp), "webhook-signature": sig,
            "content-type": "application/json"}


def event_body(token: str, *, send_token: bool = True) -> str:
    return json.dumps(payload(exposure_event(token), send_token=send_token))


@pytest.fixture
async def post() -> AsyncIterator[Any]:
    clients: list[httpx.AsyncClient] = []

    async def send(app: Starlette, body: str | bytes, headers: dict[str, str], path: str = "/") -> httpx.Response:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://receiver")
        clients.append(client)
        return await client.post(path, content=body, headers=headers)

    yield send
    for client in clients:
        await client.aclose()


async def test_valid_delivery_runs_the_hook_then_answers_2xx(post: Any, secret: str, token: str) -> None:
    hook = Recorder()
    app = create_app(secret, hook)
    body = event_body(token)
    for path in ("/", "/leakpatrol"):
        resp = await post(app, body, signed(secret, body, f"msg_{path}"), path)
        assert resp.status_code == 200 and resp.json()["ok"] is True
    assert [e["data"]["token"] for e in hook.events] == [token, token]


@pytest.mark.parametrize("tamper", ["other-secret", "body", "garbage-signature", "no-headers", "bad-timestamp"])
async def test_bad_signature_is_rejected(post: Any, secret: str, token: str, tamper: str) -> None:
    hook = Recorder()
    body = event_body(token)
    headers = signed(new_secret() if tamper == "other-secret" else secret, body, "msg_1")
    if tamper == "body":
        body = body.replace('"live"', '"inactive"')
    elif tamper == "garbage-signature":
        headers["webhook-signature"] = "nonsense"
    elif tamper == "no-headers":
        headers = {"content-type": "application/json"}
    elif tamper == "bad-timestamp":
        headers["webhook-timestamp"] = "yesterday"
    resp = await post(create_app(secret, hook), body, headers)
    assert resp.status_code in (400, 401)
    assert hook.events == []


@pytest.mark.parametrize("offset", [-301, -3600, 301, 86400])
async def test_stale_or_future_timestamp_is_rejected(post: Any, secret: str, token: str, offset: int) -> None:
    hook = Recorder()
    body = event_body(token)
    resp = await post(create_app(secret, hook), body, signed(secret, body, "m", time.time() + offset))
    assert resp.status_code == 401 and hook.events == []


async def test_a_stricter_tolerance_is_honoured(post: Any, secret: str, token: str) -> None:
    hook = Recorder()
    body = event_body(token)
    app = create_app(secret, hook, tolerance=60)
    assert (await post(app, body, signed(secret, body, "m", time.time() - 120))).status_code == 401
    assert (await post(app, body, signed(secret, body, "m", time.time() - 10))).status_code == 200


@pytest.mark.parametrize("body", ["not json", "[1, 2]", '"text"'])
async def test_signed_body_that_is_not_a_json_object_is_400(post: Any, secret: str, body: str) -> None:
    hook = Recorder()
    resp = await post(create_app(secret, hook), body, signed(secret, body, "m"))
    assert resp.status_code == 400 and hook.events == []


async def test_oversized_body_is_413(post: Any, secret: str) -> None:
    body = json.dumps({"type": "token.exposed", "pad": "x" * (2 * 1024 * 1024)})
    hook = Recorder()
    resp = await post(create_app(secret, hook), body, signed(secret, body, "m"))
    assert resp.status_code == 413 and hook.events == []


async def test_replay_is_acknowledged_without_running_the_hook_twice(post: Any, secret: str, token: str,
                                                                     tmp_path: Path) -> None:
    hook = Recorder()
    state = tmp_path / "state" / "seen.db"
    body = event_body(token)
    app = create_app(secret, hook, seen_db=state)
    first = await post(app, body, signed(secret, body, "msg_once"))
    again = await post(app, body, signed(secret, body, "msg_once"))  # a retry: fresh timestamp, same id
    assert first.status_code == again.status_code == 200
    assert again.json().get("duplicate") is True
    assert len(hook.events) == 1
    app.state.seen.close()
    restarted = create_app(secret, hook, seen_db=state)  # a new process with the same state file
    assert (await post(restarted, body, signed(secret, body, "msg_once"))).status_code == 200
    assert len(hook.events) == 1
    assert (await post(restarted, body, signed(secret, body, "msg_other"))).status_code == 200
    assert len(hook.events) == 2


async def test_hook_failure_gives_5xx_then_a_retry_succeeds(post: Any, secret: str, token: str) -> None:
    hook = Recorder()
    hook.fail_with = RuntimeError("revocation API down")
    app = create_app(secret, hook)
    body = event_body(token)
    failed = await post(app, body, signed(secret, body, "msg_retry"))
    assert failed.status_code == 500
    hook.fail_with = None
    assert (await post(app, body, signed(secret, body, "msg_retry"))).status_code == 200
    assert (await post(app, body, signed(secret, body, "msg_retry"))).json().get("duplicate") is True
    assert len(hook.events) == 2


async def test_concurrent_retries_of_one_id_run_the_hook_once(post: Any, secret: str, token: str) -> None:
    release = asyncio.Event()
    calls: list[str] = []

    async def slow_hook(event: dict[str, Any]) -> None:
        calls.append(event["data"]["token_sha256"])
        await release.wait()

    app = create_app(secret, slow_hook)
    body = event_body(token)
    tasks = [asyncio.create_task(post(app, body, signed(secret, body, "msg_same"))) for _ in range(3)]
    while not calls:
        await asyncio.sleep(0)
    release.set()
    responses = await asyncio.gather(*tasks)
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert len(calls) == 1


async def test_sync_hook_is_supported(post: Any, secret: str, token: str) -> None:
    seen: list[str] = []
    app = create_app(secret, lambda event: seen.append(event["data"]["rule"]))
    body = event_body(token)
    assert (await post(app, body, signed(secret, body, "m"))).status_code == 200
    assert seen == ["acme-live"]


async def test_other_event_types_are_acknowledged_without_the_hook(post: Any, secret: str) -> None:
    hook = Recorder()
    body = json.dumps({"type": "report.weekly", "timestamp": "2026-11-30T07:00:00Z", "data": {}})
    resp = await post(create_app(secret, hook), body, signed(secret, body, "rep"))
    assert resp.status_code == 200 and hook.events == []


async def test_logs_never_contain_the_token(post: Any, secret: str, token: str,
                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    hook = Recorder()
    app = create_app(secret, hook)
    body = event_body(token)
    hook.fail_with = ValueError(f"cannot revoke {token}")
    assert (await post(app, body, signed(secret, body, "msg_log"))).status_code == 500
    hook.fail_with = None
    await post(app, body, signed(secret, body, "msg_log"))
    await post(app, body, signed(secret, body, "msg_log"))
    await post(app, body, signed(new_secret(), body, "msg_bad"))
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "msg_log" in text and "acme-live" in text and json.loads(body)["data"]["token_sha256"][:8] in text
    assert "cannot revoke [token]" in text
    assert token not in text and token[len(RULE.prefix):] not in text


async def test_notifier_to_receiver_round_trip(secret: str, token: str, monkeypatch: pytest.MonkeyPatch) -> None:
    hook = Recorder()
    app = create_app(secret, hook)
    monkeypatch.setenv("HOOK_SECRET", secret)
    cfg = NotifierConfig(id="acme", kind="webhook", url="http://127.0.0.1/leakpatrol", secret_env="HOOK_SECRET")
    async with make_client(transport=httpx.ASGITransport(app=app)) as client:
        notifier = WebhookNotifier(cfg, client)
        first = await notifier.send("msg_rt", exposure_event(token))
        second = await notifier.send("msg_rt", exposure_event(token))
    assert first.outcome == second.outcome == "delivered"
    assert len(hook.events) == 1 and hook.events[0]["data"]["token"] == token


@pytest.mark.e2e
async def test_served_by_uvicorn_on_loopback(secret: str, token: str, monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    hook = Recorder()
    async with AppServer(create_app(secret, hook, seen_db=tmp_path / "seen.db")) as server:
        monkeypatch.setenv("HOOK_SECRET", secret)
        cfg = NotifierConfig(id="acme", kind="webhook", url=f"{server.url}/leakpatrol", secret_env="HOOK_SECRET")
        async with make_client() as client:
            results = [await WebhookNotifier(cfg, client).send("msg_e2e", exposure_event(token)) for _ in "ab"]
    assert [r.outcome for r in results] == ["delivered", "delivered"]
    assert [e["data"]["token"] for e in hook.events] == [token]
