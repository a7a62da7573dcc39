"""The GitHub partner protocol end to end on loopback: ``leakpatrol run`` with a ``github_partner``
notifier → the reference receiver's ``POST /github/secret-scanning``, which verifies each alert with
the keys the daemon publishes at ``/meta/public_keys/secret_scanning``; the hook's labels come back
as feedback, are stored per token and show in ``exposures``, the report and ``/metrics``."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from crawler.demo.sandbox import Sandbox
from crawler.detect.redaction import fingerprint
from crawler.kernel.partner import KEY_ID_HEADER, KEYS_PATH
from crawler.kernel.serve import AppServer
from crawler.receiver.app import create_app
from crawler.receiver.partner import PATH, PartnerKeys
from tests.daemon.harness import RecordingReceiver, make_setup, metrics, new_secret, publish, total, wait_for

pytestmark = pytest.mark.e2e


class PartnerEndpoint:
    """The reference receiver with the partner route; its hook labels ``false_positives`` as such."""

    def __init__(self, keys_url: str, folder: Path) -> None:
        self.keys = PartnerKeys(url=keys_url)
        self.events: list[dict[str, Any]] = []
        self.false_positives: set[str] = set()
        self.key_ids: list[str] = []
        app = create_app(new_secret(), self._hook, seen_db=folder / "partner-receiver.db", partner_keys=self.keys)
        self.server = AppServer(self._record(app))

    def _record(self, app: Any) -> Any:
        async def recording(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http" and scope["path"] == PATH:
                headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
                self.key_ids.append(headers.get(KEY_ID_HEADER.lower(), ""))
            await app(scope, receive, send)
        return recording

    async def _hook(self, event: dict[str, Any]) -> str:
        self.events.append(event)
        return "false_positive" if event["data"]["token"] in self.false_positives else "true_positive"


def cli(config: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "crawler", *args, "-c", str(config)], env=env, capture_output=True,
                          text=True, timeout=60, check=True)
    return done.stdout


async def test_partner_alerts_round_trip_with_the_daemons_keys_and_feedback(
        sb: Sandbox, receiver: RecordingReceiver, tmp_path: Path) -> None:
    setup = make_setup(sb, receiver, tmp_path, sources=("github_gists",))
    partner = PartnerEndpoint(setup.base + KEYS_PATH, tmp_path)
    url = await partner.server.start() + PATH
    with setup.config.open("a", encoding="utf-8") as fh:
        fh.write(f'\n[[notifiers]]\nid = "acme-partner"\nkind = "github_partner"\nurl = "{url}"\n'
                 'on = ["live"]\nrules = ["demo-live"]\n')
    confirmed, wrong = sb.mint(), sb.mint()
    partner.false_positives.add(wrong)
    daemon = setup.daemon()
    try:
        await wait_for(setup.up, 20, "the daemon")
        published = json.loads((await setup.get(KEYS_PATH)).text)["public_keys"]
        assert [k["is_current"] for k in published] == [True]
        for n, token in enumerate((confirmed, wrong)):
            publish(sb, "github_gists", f"API_TOKEN={token}\n", n)

        def labelled() -> bool:
            rows = json.loads(cli(setup.config, setup.env, "exposures", "--format", "json"))["exposures"]
            return sum(1 for r in rows if r["feedback"]) == 2
        await wait_for(lambda: len(partner.events) == 2, 40, "both partner alerts")
        await wait_for(labelled, 20, "the feedback to be stored")

        samples = await metrics(setup)
        assert total(samples, "leakpatrol_rule_precision", rule="demo-live") == 0.5
        assert total(samples, "leakpatrol_partner_feedback_total", rule="demo-live", label="false_positive") == 1
        rows = {r["fingerprint"]: r for r in
                json.loads(cli(setup.config, setup.env, "exposures", "--format", "json"))["exposures"]}
        assert rows[fingerprint(wrong)]["feedback"]["label"] == "false_positive"
        assert rows[fingerprint(confirmed)]["feedback"]["label"] == "true_positive"
        assert {d["notifier"]: d["status"] for d in rows[fingerprint(wrong)]["deliveries"]} == {
            "acme-partner": "delivered", "demo-revoke": "delivered"}
        table = cli(setup.config, setup.env, "exposures")
        assert "FALSE-POS" in table and "1 marked false positive by the issuer" in table
        report = cli(setup.config, setup.env, "report", "--since", "1d", "--format", "md")
        assert "| demo-live | 1 | 1 | 50% |" in report and rows[fingerprint(wrong)]["redacted"] in report
        for text in (table, report):
            assert confirmed not in text and wrong not in text
    finally:
        daemon.signal(signal.SIGTERM)
        assert await daemon.wait_exit(15) == 0
        await asyncio.wait_for(partner.server.stop(), 10)
    # Exactly once per token, every alert verified with the daemon's published (current) key.
    assert sorted(e["data"]["token"] for e in partner.events) == sorted([confirmed, wrong])
    assert {e["data"]["source"] for e in partner.events} == {"github_partner"}
    assert {e["data"]["github_source"] for e in partner.events} == {"github_gists"}
    assert partner.key_ids == [published[0]["key_identifier"]] * 2
    assert partner.keys.fetches == 1
    assert confirmed not in daemon.log_text() and wrong not in daemon.log_text()
