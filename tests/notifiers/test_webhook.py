"""The signed revocation webhook: exact body, Standard Webhooks signature, outcome per status class."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
import respx
from standardwebhooks import Webhook

from crawler.config.model import NotifierConfig
from crawler.http import make_client
from crawler.notifiers.base import Event
from crawler.notifiers.webhook import WebhookNotifier
from tests.notifiers.helpers import exposure_event, new_secret

URL = "https://hooks.acme.example/leakpatrol"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with make_client() as c:
        yield c


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> str:
    value = new_secret()
    monkeypatch.setenv("ACME_WEBHOOK_SECRET", value)
    return value


def notifier(client: httpx.AsyncClient, **extra: object) -> WebhookNotifier:
    cfg = NotifierConfig(id="acme-revoke", kind="webhook", url=URL, secret_env="ACME_WEBHOOK_SECRET", **extra)
    return WebhookNotifier(cfg, client)


def sent(route: respx.Route, i: int = -1) -> httpx.Request:
    return route.calls[i].request


async def test_body_is_exactly_the_documented_payload(no_network: respx.MockRouter, client: httpx.AsyncClient,
                                                      secret: str, token: str) -> None:
    route = no_network.post(URL).respond(204)
    event = exposure_event(token)
    result = await notifier(client).send("msg_abc", event)
    assert result.outcome == "delivered" and result.status_code == 204
    body = json.loads(sent(route).content)
    assert body == {
        "type": "token.exposed",
        "timestamp": "2026-11-28T22:00:00Z",
        "data": {
            "token": token,
            "token_sha256": event.exposure.token_sha256 if event.exposure else "",
            "rule": "acme-live",
            "status": "live",
            "verified_at": "2026-11-28T21:59:59Z",
            "first_seen_at": "2026-11-28T21:59:58Z",
            "source": "github_gists",
            "url": "https://gist.github.com/someone/abc123",
            "location": {"path": "config.env", "line": 3},
            "sightings": 1,
        },
    }
    assert sent(route).headers["content-type"] == "application/json"


async def test_signature_verifies_with_standardwebhooks(no_network: respx.MockRouter,
                                                        client: httpx.AsyncClient, secret: str,
                                                        token: str) -> None:
    route = no_network.post(URL).respond(200)
    await notifier(client).send("msg_sig", exposure_event(token))
    request = sent(route)
    assert request.headers["webhook-id"] == "msg_sig"
    assert request.headers["webhook-signature"].startswith("v1,")
    parsed = Webhook(secret).verify(request.content, dict(request.headers))
    assert parsed["data"]["token"] == token
    with pytest.raises(Exception, match="signature"):
        Webhook(new_secret()).verify(request.content, dict(request.headers))


async def test_send_token_false_leaves_the_token_out(no_network: respx.MockRouter, client: httpx.AsyncClient,
                                                     secret: str, token: str) -> None:
    route = no_network.post(URL).respond(200)
    await notifier(client, send_token=False).send("m1", exposure_event(token, path=None))
    data = json.loads(sent(route).content)["data"]
    assert "token" not in data and data["token_sha256"]
    assert data["location"] == {"line": 3}
    assert token.encode() not in sent(route).content


async def test_weekly_report_event(no_network: respx.MockRouter, client: httpx.AsyncClient,
                                   secret: str) -> None:
    route = no_network.post(URL).respond(200)
    event = Event(type="report.weekly", timestamp=datetime(2026, 11, 30, 7, 0, tzinfo=UTC),
                  report={"week": "2026-W49", "live": 2}, summary="2 live tokens")
    assert (await notifier(client).send("rep", event)).outcome == "delivered"
    assert json.loads(sent(route).content) == {"type": "report.weekly", "timestamp": "2026-11-30T07:00:00Z",
                                               "data": {"week": "2026-W49", "live": 2}}


@pytest.mark.parametrize(("status", "outcome"), [
    (200, "delivered"), (202, "delivered"), (204, "delivered"),
    (410, "disabled"),
    (408, "retry"), (429, "retry"), (500, "retry"), (502, "retry"), (503, "retry"), (599, "retry"),
    (400, "failed"), (401, "failed"), (403, "failed"), (404, "failed"), (422, "failed"),
])
async def test_status_classes(no_network: respx.MockRouter, client: httpx.AsyncClient, secret: str,
                              token: str, status: int, outcome: str) -> None:
    no_network.post(URL).respond(status)
    result = await notifier(client).send("m", exposure_event(token))
    assert (result.outcome, result.status_code) == (outcome, status)


@pytest.mark.parametrize("status", [301, 302, 307, 308])
@pytest.mark.parametrize("follow", [False, True])
async def test_redirect_is_not_followed(no_network: respx.MockRouter, secret: str, token: str,
                                        status: int, follow: bool) -> None:
    elsewhere = no_network.post("https://evil.example/steal").respond(200)
    no_network.post(URL).respond(status, headers={"Location": "https://evil.example/steal"})
    async with make_client(follow_redirects=follow) as client:
        result = await notifier(client).send("m", exposure_event(token))
    assert result.outcome == "failed" and result.status_code == status
    assert not elsewhere.called


@pytest.mark.parametrize(("header", "expected"), [("120", 120.0), ("0", 0.0), (None, None), ("soon", None)])
async def test_retry_after_is_parsed(no_network: respx.MockRouter, client: httpx.AsyncClient, secret: str,
                                     token: str, header: str | None, expected: float | None) -> None:
    no_network.post(URL).respond(429, headers={"Retry-After": header} if header else {})
    result = await notifier(client).send("m", exposure_event(token))
    assert result.outcome == "retry" and result.retry_after == expected


async def test_retry_after_http_date(no_network: respx.MockRouter, client: httpx.AsyncClient, secret: str,
                                     token: str) -> None:
    no_network.post(URL).respond(503, headers={"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"})
    result = await notifier(client).send("m", exposure_event(token))
    assert result.outcome == "retry" and result.retry_after is not None and result.retry_after > 86400


@pytest.mark.parametrize("exc", [httpx.ConnectTimeout("t"), httpx.ReadTimeout("t"),
                                 httpx.ConnectError("refused"), httpx.RemoteProtocolError("eof")])
async def test_transport_errors_retry(no_network: respx.MockRouter, client: httpx.AsyncClient, secret: str,
                                      token: str, exc: Exception) -> None:
    no_network.post(URL).mock(side_effect=exc)
    result = await notifier(client).send("m", exposure_event(token))
    assert result.outcome == "retry" and result.status_code is None
    assert type(exc).__name__ in result.detail


async def test_retries_reuse_the_message_id_with_a_fresh_timestamp(no_network: respx.MockRouter,
                                                                   client: httpx.AsyncClient, secret: str,
                                                                   token: str) -> None:
    route = no_network.post(URL)
    route.side_effect = [httpx.Response(503), httpx.Response(200)]
    now = [1_700_000_000.0]
    hook = WebhookNotifier(notifier(client).config, client, clock=lambda: now[0])
    event = exposure_event(token)
    assert (await hook.send("msg_stable", event)).outcome == "retry"
    now[0] += 37
    assert (await hook.send("msg_stable", event)).outcome == "delivered"
    first, second = sent(route, 0), sent(route, 1)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == "msg_stable"
    assert int(second.headers["webhook-timestamp"]) - int(first.headers["webhook-timestamp"]) == 37
    assert first.content == second.content
    assert first.headers["webhook-signature"] != second.headers["webhook-signature"]


async def test_detail_never_carries_the_token(no_network: respx.MockRouter, client: httpx.AsyncClient,
                                              secret: str, token: str) -> None:
    no_network.post(URL).respond(400, text=f"bad token {token}")
    event = exposure_event(token)
    result = await notifier(client).send("m", event)
    assert result.outcome == "failed"
    assert token not in result.detail and token not in repr(result)
    assert event.exposure is not None and event.exposure.redacted in result.detail


def test_missing_and_malformed_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    hook = notifier(httpx.AsyncClient())
    assert "ACME_WEBHOOK_SECRET" in (hook.missing_credentials() or "")
    monkeypatch.setenv("ACME_WEBHOOK_SECRET", "whsec_")
    assert "whsec_" in (hook.missing_credentials() or "")
    monkeypatch.setenv("ACME_WEBHOOK_SECRET", new_secret())
    assert hook.missing_credentials() is None


async def test_send_without_secret_fails_without_a_request(no_network: respx.MockRouter,
                                                           client: httpx.AsyncClient, token: str) -> None:
    route = no_network.post(URL).respond(200)
    result = await notifier(client).send("m", exposure_event(token))
    assert result.outcome == "failed" and "ACME_WEBHOOK_SECRET" in result.detail
    assert not route.called
