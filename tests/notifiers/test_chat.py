"""The chat notifier: Slack incoming-webhook message with the redacted form, never the token."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
import respx

from crawler.config.model import NotifierConfig
from crawler.http import make_client
from crawler.notifiers.base import Event
from crawler.notifiers.chat import ChatNotifier, ChatOptions
from tests.notifiers.helpers import exposure_event

HOOK = "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with make_client() as c:
        yield c


@pytest.fixture
def chat(client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> ChatNotifier:
    monkeypatch.setenv("SECURITY_CHAT_WEBHOOK", HOOK)
    return ChatNotifier(NotifierConfig(id="security-chat", kind="chat", url_env="SECURITY_CHAT_WEBHOOK",
                                       on=["live", "unknown"]), client)


async def test_message_has_redacted_form_and_never_the_token(no_network: respx.MockRouter, chat: ChatNotifier,
                                                             token: str) -> None:
    route = no_network.post(HOOK).respond(200, text="ok")
    event = exposure_event(token)
    assert event.exposure is not None
    result = await chat.send("m1", event)
    assert result.outcome == "delivered"
    raw = route.calls[0].request.content
    assert token.encode() not in raw
    assert token[len("acme_live_"):].encode() not in raw  # not even the body without its prefix
    msg = json.loads(raw)
    text = json.dumps(msg, ensure_ascii=False)
    for expected in (event.exposure.redacted, "acme-live", "critical", "live", "github_gists",
                     "https://gist.github.com/someone/abc123", "config.env:3"):
        assert expected in text
    assert event.exposure.redacted in msg["text"]
    assert {b["type"] for b in msg["blocks"]} >= {"header", "section"}


async def test_token_in_another_field_is_scrubbed(no_network: respx.MockRouter, chat: ChatNotifier,
                                                  token: str) -> None:
    route = no_network.post(HOOK).respond(200, text="ok")
    await chat.send("m1", exposure_event(token, path=f"leak-{token}.env"))
    assert token.encode() not in route.calls[0].request.content


async def test_mrkdwn_control_characters_are_escaped(no_network: respx.MockRouter, chat: ChatNotifier,
                                                     token: str) -> None:
    route = no_network.post(HOOK).respond(200, text="ok")
    await chat.send("m1", exposure_event(token, path="<!channel>&.env"))
    assert "<!channel>" not in json.dumps(json.loads(route.calls[0].request.content)["blocks"])


async def test_weekly_report_posts_the_summary(no_network: respx.MockRouter, chat: ChatNotifier) -> None:
    route = no_network.post(HOOK).respond(200, text="ok")
    event = Event(type="report.weekly", timestamp=datetime(2026, 11, 30, tzinfo=UTC), report={"live": 2},
                  summary="Week 2026-W49: 2 live tokens, 5 revoked")
    assert (await chat.send("r", event)).outcome == "delivered"
    assert json.loads(route.calls[0].request.content)["text"] == "Week 2026-W49: 2 live tokens, 5 revoked"


@pytest.mark.parametrize(("status", "body", "outcome"), [
    (200, "ok", "delivered"),
    (404, "no_service", "disabled"), (404, "channel_not_found", "disabled"),
    (410, "channel_is_archived", "disabled"),
    (429, "rate_limited", "retry"), (500, "rollup_error", "retry"), (503, "", "retry"),
    (400, "invalid_payload", "failed"), (403, "action_prohibited", "failed"), (302, "", "failed"),
])
async def test_status_classes(no_network: respx.MockRouter, chat: ChatNotifier, token: str, status: int,
                              body: str, outcome: str) -> None:
    no_network.post(HOOK).respond(status, text=body)
    result = await chat.send("m", exposure_event(token))
    assert result.outcome == outcome and result.status_code == status
    assert outcome == "delivered" or body in result.detail
    assert HOOK not in result.detail


async def test_retry_after_and_timeouts(no_network: respx.MockRouter, chat: ChatNotifier, token: str) -> None:
    route = no_network.post(HOOK)
    route.side_effect = [httpx.Response(429, headers={"Retry-After": "30"}), httpx.ReadTimeout("slow")]
    first = await chat.send("m", exposure_event(token))
    second = await chat.send("m", exposure_event(token))
    assert (first.outcome, first.retry_after) == ("retry", 30.0)
    assert second.outcome == "retry" and "timeout" in second.detail


async def test_missing_url_env(no_network: respx.MockRouter, client: httpx.AsyncClient, token: str,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = NotifierConfig(id="c", kind="chat", url_env="SECURITY_CHAT_WEBHOOK")
    chat = ChatNotifier(cfg, client)
    assert "SECURITY_CHAT_WEBHOOK" in (chat.missing_credentials() or "")
    assert (await chat.send("m", exposure_event(token))).outcome == "failed"
    monkeypatch.setenv("SECURITY_CHAT_WEBHOOK", "http://hooks.slack.com/services/x")  # not https
    problem = chat.missing_credentials() or ""
    assert "https" in problem and "hooks.slack.com" not in problem


def test_options_need_exactly_one_url() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        ChatOptions.model_validate({})
    with pytest.raises(ValueError, match="exactly one"):
        ChatOptions.model_validate({"url": HOOK, "url_env": "X"})
    assert ChatOptions.model_validate({"url": HOOK}).url == HOOK
