"""Issue 11 acceptance: after a run with a verifier that raises with the token in its message, a
receiver that echoes the whole delivery (token included) in its error answer, and a token in a
gist's file name, no planted token is anywhere an operator looks: the database file, the human and
JSON logs, and the output of ``exposures``, ``report`` and ``notifiers``."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx

from crawler.detect.rules import load_rules
from crawler.engine.logs import make_handler
from crawler.plugins import load_config
from crawler.store.crypto import load_cipher
from crawler.store.database import open_store
from tests.cli.helpers import run
from tests.hostile.test_notifiers import config
from tests.pipeline.helpers import HOOK, INTROSPECT, FakeClock, running, secrets
from tests.pipeline.test_plaintext import assert_absent
from tests.sources.helpers import token

API = "https://api.github.com"
RAW = "https://gist.githubusercontent.com"


@pytest.fixture
def logs() -> Iterator[dict[str, io.StringIO]]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    streams = {"human": io.StringIO(), "json": io.StringIO()}
    yield streams
    root.handlers[:], root.level = handlers, level


async def test_no_planted_token_in_the_database_logs_reports_or_cli_output(
        tmp_path: Path, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], logs: dict[str, io.StringIO]) -> None:
    secrets(monkeypatch)
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-not-a-real-one")
    in_name, raising, echoed = token(), token(), token()
    planted = [in_name, raising, echoed]
    path = config(tmp_path)
    path.write_text(path.read_text().replace('on = ["live"]', 'on = ["live", "unknown"]')
                    + '\n[sources.github_gists]\ninterval = "60s"\n\n[http]\ntransport = "httpcore"\n')
    cfg = load_config(str(path))
    rules = load_rules(cfg)
    root = logging.getLogger()
    root.handlers[:] = [make_handler(fmt, rules, stream) for fmt, stream in logs.items()]
    root.setLevel(logging.DEBUG)

    raw = f"{RAW}/someone/abc123/raw/{in_name}.env"
    no_network.get(f"{API}/gists/public").mock(return_value=httpx.Response(200, json=[{
        "id": "abc123", "html_url": "https://gist.github.com/someone/abc123", "updated_at": "2026-11-30T10:00:00Z",
        "owner": {"login": "someone"}, "files": {f"{in_name}.env": {"raw_url": raw}}}]))
    no_network.get(raw).mock(return_value=httpx.Response(200, text=f"A={in_name}\nB={raising}\nC={echoed}\n"))

    def issuer(request: httpx.Request) -> httpx.Response:
        if raising in request.content.decode():
            raise RuntimeError(f"the issuer choked on {raising}")  # a verifier that raises, token in hand
        return httpx.Response(200, json={"active": True, "note": f"checked {request.content.decode()}"})

    no_network.post(INTROSPECT).mock(side_effect=issuer)
    no_network.post(HOOK).mock(side_effect=lambda request: httpx.Response(400, text=request.content.decode()))

    from contextlib import AsyncExitStack

    from crawler.engine.polling import SourceRunner
    from crawler.kernel.clock import utcnow
    from crawler.kernel.retry import RetryPolicy

    async def no_sleep(_: float) -> None:
        return None

    store = open_store(cfg.database_url(), load_cipher(cfg, create=True))
    try:
        async with running(cfg, FakeClock(utcnow()), store) as h, AsyncExitStack() as stack:
            runner = SourceRunner(h.engine, cfg.source_specs[0], stack, RetryPolicy(sleep=no_sleep))
            out = await runner.poll()
            await h.engine.settle(10)
            await h.engine.deliver_due()
            sightings = h.store.sightings()
            deliveries = h.store.deliveries()
    finally:
        store.close()
    assert out.ok and len(sightings) == 3
    assert any(d.status == "failed" and d.last_status == 400 for d in deliveries)  # the echo was stored, scrubbed

    cli = [run(capsys, "exposures", "-c", str(path)), run(capsys, "exposures", "-c", str(path), "--format", "json"),
           run(capsys, "notifiers", "-c", str(path)), run(capsys, "--log-format", "json", "exposures", "-c", str(path))]
    for fmt in ("json", "md", "html"):
        cli.append(run(capsys, "report", "-c", str(path), "--since", "30d", "--format", fmt))
    assert all(r.code == 0 for r in cli), [r.err for r in cli if r.code]
    assert "acme_live_" in cli[0].out  # the exposures are listed (redacted)

    human, js = logs["human"].getvalue(), logs["json"].getvalue()
    assert "the issuer choked on" in human and "delivery" in human  # the events were logged …
    database = b"".join(p.read_bytes() for p in tmp_path.glob("lp.db*"))
    for where, blob in [("the database", database), ("the human log", human), ("the JSON log", js),
                        *((f"CLI output {i}", r.out + r.err) for i, r in enumerate(cli))]:
        assert_absent(planted, blob, where)  # … the tokens were not
