"""Scaled out: two ``leakpatrol run`` daemons on one PostgreSQL. Each source is polled by one process
at a time (leases + stored back-off), and each live token is notified once across both."""

from __future__ import annotations

import asyncio
import itertools
import signal
from pathlib import Path

import pytest

from crawler.demo.sandbox import Sandbox
from crawler.store.crypto import generate_key
from tests.daemon.harness import RecordingReceiver, free_port, make_setup, publish, wait_for
from tests.pg import pg_schema

pytestmark = pytest.mark.e2e
SOURCES = ("github_events", "github_gists", "pastebin", "paste_sites")


async def test_two_daemons_share_one_postgresql(sb: Sandbox, receiver: RecordingReceiver, tmp_path: Path) -> None:
    with pg_schema() as (url, _schema):
        setup = make_setup(sb, receiver, tmp_path, sources=SOURCES,
                           source_options={"pastebin": {"item_delay": 0}})
        env = {**setup.env, "LEAKPATROL_STORAGE__URL": url, "LEAKPATROL_KEY": generate_key()}
        setup.env = env
        first = setup.daemon()
        second_env = {**env, "LEAKPATROL_SERVER__LISTEN": f"127.0.0.1:{free_port()}"}
        setup.env = second_env
        second = setup.daemon()
        try:
            await wait_for(setup.up, 30, "the first daemon's server")
            tokens = []
            for n in range(8):
                token = sb.mint(live=True)
                tokens.append(token)
                publish(sb, SOURCES[n % len(SOURCES)], f"KEY={token}\n", n)
                await asyncio.sleep(0.4)
            await wait_for(lambda: set(tokens) <= set(receiver.ids_by_token()), 60, "every live token delivered")
            await asyncio.sleep(2.5)  # room for a duplicate to show up, if there were one
        finally:
            for d in (first, second):
                d.signal(signal.SIGTERM)
            codes = [await d.wait_exit(15) for d in (first, second)]
        assert codes == [0, 0], first.log_text()[-2000:] + second.log_text()[-2000:]
        ids = receiver.ids_by_token()
        assert {t: len(ids[t]) for t in tokens} == dict.fromkeys(tokens, 1)  # one webhook-id per token
        assert sum(1 for a in receiver.arrivals if a.token in tokens) == len(tokens)  # and one arrival
        # Both daemons were really running against the same store (each logged its own start).
        assert "leakpatrol running" in first.log_text() and "leakpatrol running" in second.log_text()
        # One poller at a time: consecutive /events polls honour the server's X-Poll-Interval (1 s)
        # even though two processes were polling the same source.
        times = [r.time for r in sb.requests("/github/events")]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert times and min(gaps) >= 0.9, gaps
