"""``leakpatrol run`` as a subprocess against the sandbox: exactly the live tokens, once; clean stop."""

from __future__ import annotations

import asyncio
import random
import signal
from pathlib import Path

import pytest

from crawler.demo.sandbox import Sandbox
from tests.daemon.harness import (
    CORE_SOURCES,
    RecordingReceiver,
    decoy,
    make_setup,
    metrics,
    publish,
    total,
    wait_for,
)

pytestmark = pytest.mark.e2e


async def test_delivers_exactly_the_live_tokens_and_stops_on_sigterm(
        sb: Sandbox, receiver: RecordingReceiver, tmp_path: Path) -> None:
    setup = make_setup(sb, receiver, tmp_path)
    daemon = setup.daemon()
    try:
        await wait_for(setup.up, 20, "the daemon's /healthz")
        rng = random.Random(5)
        live, inactive, decoys = [], [], []
        for i, source in enumerate(CORE_SOURCES * 2):
            tok_live, tok_dead, tok_decoy = sb.mint(), sb.mint(live=False), decoy(sb.mint())
            live.append(tok_live)
            inactive.append(tok_dead)
            decoys.append(tok_decoy)
            publish(sb, source, f"API_KEY={tok_live}\nOLD_KEY={tok_dead}\nDOCS_KEY={tok_decoy}\n", i)
            await asyncio.sleep(rng.uniform(0.1, 0.5))  # publishing while the daemon polls

        await wait_for(lambda: set(live) <= set(receiver.ids_by_token()), 30, "every live token at the receiver")
        verified = len(live) + len(inactive)

        async def all_verified() -> bool:
            return total(await metrics(setup), "leakpatrol_verifications_total") >= verified
        await wait_for(all_verified, 20, "a verdict for every planted token")

        ids = receiver.ids_by_token()
        assert set(ids) == set(live)
        assert all(len(v) == 1 for v in ids.values())
        assert len({a.webhook_id for a in receiver.arrivals}) == len(live)
        m = await metrics(setup)
        assert total(m, "leakpatrol_verifications_total", result="live") == len(live)
        assert total(m, "leakpatrol_verifications_total", result="inactive") == len(inactive)
        assert total(m, "leakpatrol_checksum_rejects_total") >= len(decoys)

        daemon.signal(signal.SIGTERM)
        code = await daemon.wait_exit(10)
        assert code == 0, daemon.log_text()[-3000:]
        # a clean stop: in-flight polls finish, nothing is cancelled mid-air or logged as an error
        assert "Traceback" not in daemon.log_text() and " ERROR " not in daemon.log_text(), daemon.log_text()[-3000:]
    finally:
        await daemon.kill()
