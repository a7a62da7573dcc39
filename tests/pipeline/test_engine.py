"""Engine.process: document → scan → store → verify a new token → outbox → deliver, in one pass."""

from __future__ import annotations

from pathlib import Path

import pytest
import respx
from standardwebhooks import Webhook

from crawler.config.model import RuleConfig
from crawler.detect.mint import mint
from crawler.detect.redaction import fingerprint
from crawler.detect.rules import compile_rule
from crawler.engine.delivery import webhook_id
from tests.pipeline.helpers import (
    HOOK_B,
    WEBHOOK_SECRET_B_ENV,
    WEBHOOK_SECRET_ENV,
    Issuer,
    build,
    doc,
    endpoint,
    rule,
    running,
    secrets,
    webhook,
)
from tests.store.helpers import T0, new_token

ISO_T0 = "2026-11-28T22:00:00Z"
BETA = compile_rule(RuleConfig(**rule("beta-live", "beta_live_")))


def decoy(token: str) -> str:
    """The same token with its last checksum character changed: discarded offline."""
    last = token[-1]
    return token[:-1] + ("A" if last != "A" else "B")


async def test_a_live_token_gets_exactly_the_documented_signed_webhook(
        tmp_path: Path, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    env = secrets(monkeypatch)
    issuer, hook = Issuer(no_network), endpoint(no_network)
    token = new_token()
    issuer.live.add(token)
    async with running(build(tmp_path)) as h:
        added = await h.engine.process([doc(f"# settings\nA=1\nKEY={token}\n")])
    assert added == 1 and issuer.asked == [token]
    [request] = hook.requests
    fp = fingerprint(token)
    assert request.headers["webhook-id"] == webhook_id("acme-revoke", fp)
    assert request.headers["webhook-id"].startswith("msg_")
    assert request.headers["content-type"] == "application/json"
    Webhook(env[WEBHOOK_SECRET_ENV]).verify(request.content, dict(request.headers))
    assert hook.bodies == [{
        "type": "token.exposed",
        "timestamp": ISO_T0,
        "data": {
            "token": token, "token_sha256": fp, "rule": "acme-live", "status": "live",
            "verified_at": ISO_T0, "first_seen_at": ISO_T0, "source": "github_gists",
            "url": "https://gist.github.com/someone/abc123", "location": {"path": "config.env", "line": 3},
            "sightings": 1,
        },
    }]
    [row] = h.store.deliveries()
    assert (row.status, row.attempts, row.delivered_at, row.last_status) == ("delivered", 1, T0, 200)
    tok = h.store.token(row.token_id or 0)
    assert (tok.status, tok.verified_at, tok.next_check_at) == ("live", T0, T0.replace(hour=23))


@pytest.mark.parametrize("kind", ["inactive", "unknown", "decoy", "no-verifier"])
async def test_only_live_tokens_are_notified_when_on_is_live(
        kind: str, tmp_path: Path, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets(monkeypatch)
    issuer, hook = Issuer(no_network), endpoint(no_network)
    token = new_token()
    if kind == "unknown":
        issuer.unavailable.add(token)
        issuer.live.add(token)  # live at the issuer, but the issuer cannot say so right now
    text = decoy(token) if kind == "decoy" else token
    cfg = build(tmp_path, rules=[rule(verifier=None)] if kind == "no-verifier" else None)
    async with running(cfg) as h:
        await h.engine.process([doc(f"KEY={text}\n")])
        tokens = h.store.tokens()
        assert h.store.deliveries() == []
    assert hook.requests == []
    if kind == "decoy":
        assert tokens == [] and issuer.asked == []  # never verified, stored or notified
        return
    [tok] = tokens
    expected = {"inactive": "inactive", "unknown": "unknown", "no-verifier": "unknown"}[kind]
    assert tok.status == expected
    assert issuer.asked == ([] if kind == "no-verifier" else [token])


async def test_on_unknown_notifies_unknown_tokens(tmp_path: Path, no_network: respx.MockRouter,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    secrets(monkeypatch)
    issuer, hook = Issuer(no_network), endpoint(no_network)
    token = new_token()
    issuer.unavailable.add(token)
    async with running(build(tmp_path, notifiers=[webhook(on=["live", "unknown"])])) as h:
        await h.engine.process([doc(f"KEY={token}\n")])
    assert [b["data"]["status"] for b in hook.bodies] == ["unknown"]
    assert hook.bodies[0]["data"]["verified_at"] is None


async def test_send_token_false_leaves_the_token_out(tmp_path: Path, no_network: respx.MockRouter,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    env = secrets(monkeypatch)
    issuer, hook = Issuer(no_network), endpoint(no_network)
    token = new_token()
    issuer.live.add(token)
    async with running(build(tmp_path, notifiers=[webhook(send_token=False)])) as h:
        await h.engine.process([doc(f"KEY={token}\n", path=None, source="pastebin",
                                    url="https://pastebin.com/Xy12")])
    [request] = hook.requests
    Webhook(env[WEBHOOK_SECRET_ENV]).verify(request.content, dict(request.headers))
    assert token.encode() not in request.content
    data = hook.bodies[0]["data"]
    assert "token" not in data and data["token_sha256"] == fingerprint(token)
    assert data["location"] == {"line": 1} and data["source"] == "pastebin"  # no path: omitted


async def test_a_known_token_only_gains_a_sighting(tmp_path: Path, no_network: respx.MockRouter,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    secrets(monkeypatch)
    issuer, hook = Issuer(no_network), endpoint(no_network)
    token = new_token()
    issuer.live.add(token)
    async with running(build(tmp_path)) as h:
        assert await h.engine.process([doc(f"KEY={token}\n")]) == 1
        h.clock.advance(60)
        assert await h.engine.process([doc(f"KEY={token}\n", url="https://pastebin.com/again", key="k2")]) == 1
        assert await h.engine.process([doc(f"KEY={token}\n", url="https://pastebin.com/again", key="k2")]) == 0
        [tok] = h.store.tokens()
    assert tok.sightings == 2
    assert len(hook.requests) == 1 and issuer.asked == [token]  # verified once, notified once


async def test_notifier_rules_route_each_token_to_its_own_notifier(
        tmp_path: Path, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    env = secrets(monkeypatch)
    issuer, hook_a, hook_b = Issuer(no_network), endpoint(no_network), endpoint(no_network, HOOK_B)
    acme, beta = new_token(), mint(BETA)
    issuer.live |= {acme, beta}
    cfg = build(tmp_path, rules=[rule(), rule("beta-live", "beta_live_")], notifiers=[
        webhook(rules=["acme-live"]),
        webhook("beta-revoke", HOOK_B, WEBHOOK_SECRET_B_ENV, rules=["beta-live"])])
    async with running(cfg) as h:
        await h.engine.process([doc(f"A={acme}\nB={beta}\n")])
    assert [b["data"]["token"] for b in hook_a.bodies] == [acme]
    assert [b["data"]["token"] for b in hook_b.bodies] == [beta]
    assert hook_b.ids == [webhook_id("beta-revoke", fingerprint(beta))]
    Webhook(env[WEBHOOK_SECRET_B_ENV]).verify(hook_b.requests[0].content, dict(hook_b.requests[0].headers))


async def test_a_patch_reports_the_line_in_the_new_file(tmp_path: Path, no_network: respx.MockRouter,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    secrets(monkeypatch)
    issuer, hook = Issuer(no_network), endpoint(no_network)
    token = new_token()
    issuer.live.add(token)
    patch = ("@@ -10,3 +10,4 @@ section\n"
             " A=1\n"        # new line 10
             "-B=2\n"        # removed
             "+B=3\n"        # new line 11
             f"+KEY={token}\n"  # document line 5, new line 12
             " C=4\n")
    async with running(build(tmp_path)) as h:
        await h.engine.process([doc(patch, is_patch=True, source="github_events",
                                    url="https://github.com/octo/leaky/commit/abc")])
        [sighting] = h.store.sightings()
    assert sighting.line == 12
    assert hook.bodies[0]["data"]["location"] == {"path": "config.env", "line": 12}


async def test_a_token_goes_to_no_verifier_but_its_rules(tmp_path: Path, no_network: respx.MockRouter,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A rule without a verifier never reaches the introspection endpoint of another rule."""
    secrets(monkeypatch)
    issuer, hook = Issuer(no_network), endpoint(no_network)
    acme, beta = new_token(), mint(BETA)
    issuer.live |= {acme, beta}
    cfg = build(tmp_path, rules=[rule(), rule("beta-live", "beta_live_", verifier=None)])
    async with running(cfg) as h:
        await h.engine.process([doc(f"{acme}\n{beta}\n")])
        statuses = {t.rule: t.status for t in h.store.tokens()}
    assert issuer.asked == [acme] and statuses == {"acme-live": "live", "beta-live": "unknown"}
    assert [b["data"]["rule"] for b in hook.bodies] == ["acme-live"]
