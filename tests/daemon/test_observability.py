"""``/healthz``, ``/metrics`` and the daemon's logs, on a running ``leakpatrol run``."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from crawler.demo.sandbox import Sandbox
from crawler.detect.redaction import redact
from tests.daemon.harness import CORE_SOURCES, RecordingReceiver, Setup, make_setup, publish, wait_for

pytestmark = pytest.mark.e2e
UNITS = ("_seconds", "_bytes", "_total", "_pending")


async def _health(setup: Setup) -> tuple[int, dict[str, object]]:
    resp = await setup.get("/healthz")
    return resp.status_code, resp.json()


async def test_healthz_turns_unhealthy_after_the_threshold_and_recovers(
        sb: Sandbox, receiver: RecordingReceiver, tmp_path: Path) -> None:
    setup = make_setup(sb, receiver, tmp_path, server_extra='unhealthy_after = "2s"')
    daemon = setup.daemon()
    try:
        await wait_for(setup.up, 20, "the daemon")

        async def all_ok() -> bool:
            code, body = await _health(setup)
            sources = body["sources"]
            assert isinstance(sources, dict)
            return code == 200 and all(s["last_success_at"] for s in sources.values())
        await wait_for(all_ok, 20, "every source polled successfully")
        code, body = await _health(setup)
        assert code == 200 and body["status"] == "ok" and set(body["sources"]) == {  # type: ignore[call-overload]
            "github_events", "github_gists", "gitlab_snippets", "pastebin", sb.source_name("paste_sites")}

        sb.service_for("pastebin").inject(503, times=10_000, path="/api_scraping.php")

        async def unhealthy() -> bool:
            return (await _health(setup))[0] == 503
        await wait_for(unhealthy, 30, "/healthz to answer 503")
        code, body = await _health(setup)
        sources = body["sources"]
        assert code == 503 and isinstance(sources, dict) and body["status"] == "unhealthy"
        assert sources["pastebin"]["status"] == "failing"
        assert sources["pastebin"]["failing_for_seconds"] >= 2  # reported to 0.1 s: 2.03 shows as 2.0
        assert "503" in sources["pastebin"]["last_error"]
        assert sources["pastebin"]["next_poll_at"] is not None
        assert all(v["status"] == "ok" for k, v in sources.items() if k != "pastebin")
        assert isinstance(body["outbox_backlog"], int)

        sb.service_for("pastebin").clear_faults()

        async def healthy() -> bool:
            return (await _health(setup))[0] == 200
        await wait_for(healthy, 40, "/healthz to recover")
        daemon.signal(signal.SIGTERM)
        assert await daemon.wait_exit(10) == 0
    finally:
        await daemon.kill()


async def test_metrics_follow_prometheus_conventions_and_json_logs_hold_no_token(
        sb: Sandbox, receiver: RecordingReceiver, tmp_path: Path) -> None:
    setup = make_setup(sb, receiver, tmp_path)
    daemon = setup.daemon(log_format="json")
    tokens = []
    try:
        await wait_for(setup.up, 20, "the daemon")
        for i, source in enumerate(CORE_SOURCES):
            tokens += [sb.mint(), sb.mint(live=False)]
            publish(sb, source, f"A={tokens[-2]}\nB={tokens[-1]}\n", i)
        live = tokens[::2]
        await wait_for(lambda: set(live) <= set(receiver.ids_by_token()), 30, "the live tokens")

        resp = await setup.get("/metrics")
        assert resp.headers["content-type"].startswith("text/plain")
        families = {f.name: f for f in text_string_to_metric_families(resp.text)}
        ours = {n: f for n, f in families.items() if n.startswith("leakpatrol_")}
        assert ours and set(ours) == set(families) - {n for n in families if n.startswith(("python_", "process_"))}
        for name, fam in ours.items():
            assert fam.documentation, name
            if fam.type == "counter":
                assert {s.name for s in fam.samples} <= {f"{name}_total", f"{name}_created"}, name
            else:
                assert not name.endswith("_total"), name
        expected = {"leakpatrol_documents": "counter", "leakpatrol_document_bytes": "counter",
                    "leakpatrol_findings": "counter", "leakpatrol_verifications": "counter",
                    "leakpatrol_deliveries": "counter", "leakpatrol_source_errors": "counter",
                    "leakpatrol_source_rate_limit_waits": "counter", "leakpatrol_source_backoff_seconds": "gauge",
                    "leakpatrol_leak_to_notify_seconds": "histogram"}
        for name, kind in expected.items():
            assert name in ours and ours[name].type == kind, name
        docs = {s.labels["source"]: s.value for s in ours["leakpatrol_documents"].samples
                if s.name.endswith("_total")}
        assert set(docs) >= {"github_events", "github_gists", "gitlab_snippets", "pastebin"}
        findings = [s for s in ours["leakpatrol_findings"].samples if s.name.endswith("_total")]
        assert {s.labels["rule"] for s in findings} == {"demo-live"}
        assert sum(s.value for s in findings) == len(tokens)
        count = [s for s in ours["leakpatrol_leak_to_notify_seconds"].samples if s.name.endswith("_count")]
        assert sum(s.value for s in count) == len(live)
        delivered = [s for s in ours["leakpatrol_deliveries"].samples
                     if s.name.endswith("_total") and s.labels["outcome"] == "delivered"]
        assert sum(s.value for s in delivered) == len(live)

        daemon.signal(signal.SIGTERM)
        assert await daemon.wait_exit(10) == 0
    finally:
        await daemon.kill()
    lines = daemon.log_text().splitlines()
    assert lines
    records = [json.loads(line) for line in lines]  # every stderr line is one JSON object
    assert all(isinstance(r, dict) and {"ts", "level", "logger", "msg"} <= set(r) for r in records)
    messages = "\n".join(r["msg"] for r in records)
    for tok in tokens:
        assert tok not in messages and tok[len("demo_live_"):] not in daemon.log_text()
    assert redact(live[0], "demo_live_") in messages  # the found token is logged, redacted
