"""The ``github_partner`` notifier in the engine: the webhook notifier's outbox semantics (retry with
back-off, exactly once), the deployment key made when missing, feedback stored per token and the
per-rule precision metric."""

from __future__ import annotations

import hashlib
import json
import logging
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from crawler.config.model import Config
from crawler.detect.redaction import fingerprint
from crawler.kernel.partner import KEY_ID_HEADER, SIGNATURE_HEADER, DeploymentKey, parse_public_keys, verify
from tests.pipeline.helpers import Harness, Issuer, build, doc, endpoint, running, secrets, webhook
from tests.store.helpers import new_token

PARTNER = "https://partner.acme.example/github/secret-scanning"


def partner() -> dict[str, Any]:
    return {"id": "acme-partner", "kind": "github_partner", "url": PARTNER, "on": ["live"]}


def with_key(cfg: Config, path: Path) -> Config:
    return cfg.model_copy(update={"storage": cfg.storage.model_copy(update={"signing_key_file": str(path)})})


async def leak(h: Harness, issuer: Issuer) -> str:
    token = new_token()
    issuer.live.add(token)
    await h.engine.process([doc(f"KEY={token}\n", key=token)])
    return token


def label(token: str, value: str) -> httpx.Response:
    digest = hashlib.sha256(token.encode()).hexdigest()
    return httpx.Response(200, json=[{"token_hash": digest, "token_type": "acme-live", "label": value}])


async def test_retry_then_exactly_once_signed_with_a_key_made_on_start(
        tmp_path: Path, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets(monkeypatch)
    issuer, ep = Issuer(no_network), endpoint(no_network, PARTNER)
    ep.answers.append(httpx.Response(503))
    key_path = tmp_path / "data" / "signing.pem"
    async with running(with_key(build(tmp_path, notifiers=[partner()]), key_path)) as h:
        assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
        token = await leak(h, issuer)
        [row] = h.store.deliveries()
        assert (row.status, row.attempts, row.last_status) == ("pending", 1, 503)
        assert row.next_attempt_at is not None
        h.clock.now = row.next_attempt_at
        assert await h.engine.deliver_due() == 1
        h.clock.advance(3600)
        assert await h.engine.deliver_due() == 0  # delivered once: never again
    assert len(ep.requests) == 2 and ep.requests[0].content == ep.requests[1].content
    keys = parse_public_keys(json.dumps(DeploymentKey("", key_path).load().document()))
    for request in ep.requests:
        assert verify(keys[request.headers[KEY_ID_HEADER]], request.content, request.headers[SIGNATURE_HEADER])
    assert json.loads(ep.requests[0].content)[0]["token"] == token


async def test_feedback_is_stored_per_token_and_sets_the_rules_precision(
        tmp_path: Path, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets(monkeypatch)
    issuer, ep = Issuer(no_network), endpoint(no_network, PARTNER)
    async with running(with_key(build(tmp_path, notifiers=[partner()]), tmp_path / "k.pem")) as h:
        tokens = [new_token() for _ in range(3)]
        for token, value in zip(tokens, ("false_positive", "true_positive", "nonsense"), strict=True):
            ep.answers.append(label(token, value))
            issuer.live.add(token)
            await h.engine.process([doc(f"KEY={token}\n", key=token)])
        stored = {h.store.token(f.token_id).fingerprint: f for f in h.store.feedback()}  # type: ignore[union-attr]
        gauge = h.engine.metrics.registry.get_sample_value("leakpatrol_rule_precision", {"rule": "acme-live"})
        fp = h.engine.metrics.registry.get_sample_value("leakpatrol_partner_feedback_total",
                                                        {"rule": "acme-live", "label": "false_positive"})
    assert {k: (f.label, f.notifier) for k, f in stored.items()} == {
        fingerprint(tokens[0]): ("false_positive", "acme-partner"),
        fingerprint(tokens[1]): ("true_positive", "acme-partner")}
    assert (gauge, fp) == (0.5, 1.0)
    assert h.store.feedback_counts() == {"acme-live": {"false_positive": 1, "true_positive": 1}}


async def test_a_later_label_replaces_the_earlier_one(tmp_path: Path, no_network: respx.MockRouter,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    secrets(monkeypatch)
    issuer = Issuer(no_network)
    endpoint(no_network, PARTNER)
    async with running(with_key(build(tmp_path, notifiers=[partner()]), tmp_path / "k.pem")) as h:
        await leak(h, issuer)
        tid = h.store.tokens()[0].id
        assert tid is not None
        h.store.record_feedback(tid, "acme-partner", "false_positive", h.clock())
        h.store.record_feedback(tid, "acme-partner", "true_positive", h.clock.advance(5))
        [row] = h.store.feedback()
    assert (row.label, row.at) == ("true_positive", h.clock.now)


async def test_without_a_partner_notifier_no_signing_key_is_made(tmp_path: Path, no_network: respx.MockRouter,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    secrets(monkeypatch)
    key_path = tmp_path / "k.pem"
    async with running(with_key(build(tmp_path), key_path)):
        pass
    assert not key_path.exists()


async def test_a_malformed_signing_key_disables_only_the_partner_notifier(
        tmp_path: Path, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    secrets(monkeypatch)
    key_path = tmp_path / "k.pem"
    key_path.write_text("not a key\n")
    issuer, hook, ep = Issuer(no_network), endpoint(no_network), endpoint(no_network, PARTNER)
    with caplog.at_level(logging.ERROR):
        async with running(with_key(build(tmp_path, notifiers=[webhook(), partner()]), key_path)) as h:
            assert sorted(h.engine.notifiers) == ["acme-revoke"]
            await leak(h, issuer)
    assert len(hook.requests) == 1 and ep.requests == []
    assert "notifier acme-partner disabled" in caplog.text and str(key_path) in caplog.text
    assert key_path.read_text() == "not a key\n"
