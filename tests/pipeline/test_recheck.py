"""Re-verification: ``unknown`` is retried with back-off; live tokens are re-checked every
``verification.recheck``; live → inactive records ``revoked_at``."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import respx

from tests.pipeline.helpers import Issuer, build, doc, endpoint, running, secrets
from tests.store.helpers import T0, new_token

VERIFICATION = {"unknown_retry": "10s", "unknown_max_backoff": "15s", "recheck": "1h",
                "unknown_give_up_after": "1d"}


async def test_unknown_is_retried_with_backoff_until_the_issuer_answers(
        tmp_path: Path, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets(monkeypatch)
    issuer, hook = Issuer(no_network), endpoint(no_network)
    token = new_token()
    issuer.live.add(token)
    issuer.unavailable.add(token)
    async with running(build(tmp_path, verification=VERIFICATION)) as h:
        await h.engine.process([doc(f"KEY={token}\n")])
        [tok] = h.store.tokens()
        assert (tok.status, tok.check_attempts, tok.next_check_at) == ("unknown", 1, T0 + timedelta(seconds=10))
        h.clock.advance(9)
        assert await h.engine.recheck_due() == 0 and len(issuer.asked) == 1
        h.clock.advance(1)  # T0 + 10 s
        assert await h.engine.recheck_due() == 1
        [tok] = h.store.tokens()
        # second retry: 10 s × 2, capped at 15 s
        assert (tok.status, tok.check_attempts, tok.next_check_at) == ("unknown", 2, T0 + timedelta(seconds=25))
        assert hook.requests == []
        issuer.unavailable.clear()
        h.clock.now = T0 + timedelta(seconds=25)
        assert await h.engine.recheck_due() == 1
        [tok] = h.store.tokens()
        assert (tok.status, tok.check_attempts, tok.verified_at) == ("live", 0, h.clock.now)
        assert tok.next_check_at == h.clock.now + timedelta(hours=1)
    assert len(issuer.asked) == 3
    assert [b["data"]["status"] for b in hook.bodies] == ["live"]  # notified as soon as it is known live


async def test_a_live_token_is_rechecked_and_its_revocation_recorded(
        tmp_path: Path, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets(monkeypatch)
    issuer, hook = Issuer(no_network), endpoint(no_network)
    token = new_token()
    issuer.live.add(token)
    async with running(build(tmp_path, verification=VERIFICATION)) as h:
        await h.engine.process([doc(f"KEY={token}\n")])
        h.clock.advance(3599)
        assert await h.engine.recheck_due() == 0
        h.clock.advance(1)
        assert await h.engine.recheck_due() == 1  # still live: next check an hour later
        [tok] = h.store.tokens()
        assert (tok.status, tok.revoked_at, tok.next_check_at) == ("live", None, T0 + timedelta(hours=2))
        issuer.live.clear()  # the issuer revoked it
        h.clock.now = T0 + timedelta(hours=2)
        assert await h.engine.recheck_due() == 1
        [tok] = h.store.tokens()
        assert (tok.status, tok.revoked_at, tok.next_check_at) == ("inactive", T0 + timedelta(hours=2), None)
        h.clock.advance(86400)
        assert await h.engine.recheck_due() == 0  # inactive is final
        history = [(v.status, v.at) for v in h.store.verifications()]
    assert history == [("live", T0), ("live", T0 + timedelta(hours=1)), ("inactive", T0 + timedelta(hours=2))]
    assert len(hook.requests) == 1  # one notification per token × notifier, whatever happens later


async def test_unknown_retries_stop_after_give_up(tmp_path: Path, no_network: respx.MockRouter,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    secrets(monkeypatch)
    issuer = Issuer(no_network)
    endpoint(no_network)
    token = new_token()
    issuer.unavailable.add(token)
    verification = {**VERIFICATION, "unknown_give_up_after": "20s"}
    async with running(build(tmp_path, verification=verification)) as h:
        await h.engine.process([doc(f"KEY={token}\n")])
        for _ in range(5):
            h.clock.advance(15)
            await h.engine.recheck_due()
        [tok] = h.store.tokens()
    assert tok.status == "unknown" and tok.next_check_at is None
    assert len(issuer.asked) == 3  # T0, T0+15 s, T0+30 s (past give-up: no further check scheduled)


async def test_by_default_a_transient_issuer_error_costs_seconds_not_minutes(
        tmp_path: Path, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets(monkeypatch)
    issuer, hook = Issuer(no_network), endpoint(no_network)
    token = new_token()
    issuer.live.add(token)
    issuer.unavailable.add(token)  # one HTTP 503 from the introspection endpoint
    async with running(build(tmp_path)) as h:  # the default [verification]
        await h.engine.process([doc(f"KEY={token}\n")])
        [tok] = h.store.tokens()
        assert (tok.status, tok.next_check_at) == ("unknown", T0 + timedelta(seconds=5))
        assert await h.engine.recheck_due() == 0
        h.clock.advance(5)
        assert await h.engine.recheck_due() == 1
        [tok] = h.store.tokens()
        assert tok.next_check_at == h.clock.now + timedelta(seconds=10)  # 5 s, doubling
        issuer.unavailable.clear()
        h.clock.advance(10)
        assert await h.engine.recheck_due() == 1
    assert [b["data"]["status"] for b in hook.bodies] == ["live"]
