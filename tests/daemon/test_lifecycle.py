"""Starting on an older database migrates it; the weekly report job fires on a mocked clock."""

from __future__ import annotations

import json
import signal
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text
from sqlmodel import SQLModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from crawler.demo.sandbox import Sandbox
from crawler.engine.pipeline import Engine
from crawler.engine.scheduler import Daemon
from crawler.kernel.serve import AppServer
from crawler.plugins import load_config
from crawler.report.compute import Period
from crawler.store.database import Store
from crawler.store.migrations import VERSION_TABLE, head
from crawler.store.runtime import open_runtime
from sources.base import Document
from tests.daemon.harness import SECRET_ENV, RecordingReceiver, make_setup, publish, wait_for
from tests.store.legacy import make_legacy_database

pytestmark = pytest.mark.e2e
CHAT_ENV = "LP_TEST_CHAT_URL"


async def test_daemon_migrates_a_database_from_an_older_schema(
        sb: Sandbox, receiver: RecordingReceiver, tmp_path: Path) -> None:
    setup = make_setup(sb, receiver, tmp_path, sources=("github_gists",))
    db = tmp_path / "data" / "leakpatrol.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    make_legacy_database(f"sqlite:///{db}")  # what leakpatrol made before Alembic: schema v1, no revision

    daemon = setup.daemon()
    try:
        await wait_for(setup.up, 20, "the daemon on the old database")
        tok = sb.mint()
        publish(sb, "github_gists", f"K={tok}\n")
        await wait_for(lambda: tok in receiver.ids_by_token(), 30, "a delivery from the migrated store")
        daemon.signal(signal.SIGTERM)
        assert await daemon.wait_exit(10) == 0
    finally:
        await daemon.kill()
    migrated = Store(f"sqlite:///{db}", None)
    try:
        with migrated.engine.connect() as conn:
            revision = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
            tables = set(inspect(conn).get_table_names())
        assert tables == set(SQLModel.metadata.tables) | {VERSION_TABLE}
        assert revision == head()
        assert migrated.has_tokens()
    finally:
        migrated.close()


class FakeSlack:
    """A Slack-compatible incoming webhook on loopback that records what was posted."""

    def __init__(self) -> None:
        self.posted: list[dict[str, Any]] = []

    async def hook(self, request: Request) -> PlainTextResponse:
        self.posted.append(json.loads(await request.body()))
        return PlainTextResponse("ok")


@pytest.fixture
async def slack() -> AsyncIterator[tuple[FakeSlack, str]]:
    fake = FakeSlack()
    async with AppServer(Starlette(routes=[Route("/services/T0/B0/x", fake.hook, methods=["POST"])])) as server:
        yield fake, f"{server.url}/services/T0/B0/x"


async def test_weekly_report_job_writes_files_and_notifies(
        sb: Sandbox, receiver: RecordingReceiver, slack: tuple[FakeSlack, str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    fake_slack, slack_url = slack
    setup = make_setup(sb, receiver, tmp_path, sources=("pastebin",))
    cfg_text = setup.config.read_text("utf-8").replace(
        '[report]\nweekly = ""', '[report]\nweekly = "mon 07:00"\nnotify = ["demo-revoke", "security-chat"]')
    cfg_text += f'\n[[notifiers]]\nid = "security-chat"\nkind = "chat"\nurl_env = "{CHAT_ENV}"\non = ["live"]\n'
    setup.config.write_text(cfg_text, "utf-8")
    for k, v in {**sb.environment(), SECRET_ENV: receiver.secret, CHAT_ENV: slack_url}.items():
        monkeypatch.setenv(k, v)
    cfg = load_config(setup.config)

    found_at = datetime.now(UTC)
    clock = [found_at]
    tok = sb.mint()
    store = open_runtime(cfg, create_key=True)
    try:
        async with Engine(cfg, store, clock=lambda: clock[0]) as engine, AsyncExitStack() as stack:
            doc = Document(url="https://paste.example.invalid/abc", content=f"KEY={tok}\n".encode(),
                           source="pastebin", key="abc", published_at=found_at - timedelta(seconds=3))
            assert await engine.process([doc]) == 1
            assert tok in receiver.ids_by_token()  # found, verified live and delivered in the same pass

            daemon = Daemon(cfg, engine, stack)
            daemon.schedule()
            job = daemon.scheduler.get_job("report")
            assert job is not None
            fire = job.trigger.get_next_fire_time(None, found_at.astimezone())
            assert fire.weekday() == 0 and (fire.hour, fire.minute) == (7, 0)
            while found_at not in Period.last_full_week(fire):  # the first Monday run that reports it
                fire = job.trigger.get_next_fire_time(fire, fire + timedelta(minutes=1))
            clock[0] = fire.astimezone(UTC)
            await job.func()  # the scheduled job itself, at the mocked fire time
    finally:
        store.close()

    label = Period.week_of(found_at).label
    out = tmp_path / "data" / "reports"
    for fmt in ("html", "md", "json"):
        path = out / f"leakpatrol-report-{label}.{fmt}"
        assert path.exists(), sorted(p.name for p in out.iterdir())
        assert tok not in path.read_text("utf-8")
    report = json.loads((out / f"leakpatrol-report-{label}.json").read_text("utf-8"))
    assert report["totals"]["new_exposures"] == 1

    weekly = [a for a in receiver.arrivals if a.event.get("type") == "report.weekly"]
    assert len(weekly) == 1
    assert weekly[0].event["data"]["period"]["label"] == label
    assert weekly[0].event["data"]["totals"]["still_live"] == 1
    assert len(fake_slack.posted) == 2  # the live token's alert, then the weekly summary
    summary = fake_slack.posted[-1]
    assert f"exposure report {label}" in summary["text"] and "1 still live" in summary["text"]
    assert "demo_live_" in summary["text"]  # the still-live token, redacted
    assert all(tok not in json.dumps(p) for p in fake_slack.posted)
