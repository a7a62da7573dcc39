"""Issue 4 acceptance on loopback with real HTTP: the sandbox (fake sources + issuer), the reference
receiver, and ``python -m crawler crawl`` as a subprocess.

Planted: minted live tokens, inactive ones, decoys (checksum broken) and ``unknown`` ones (a second
rule whose ``http`` verifier gets 503 from the issuer). The receiver must get exactly the live
tokens, once each, every signature verifying with ``standardwebhooks`` directly; a second crawl
delivers nothing new; no plaintext token is in the database files, the logs or the CLI output.
"""

from __future__ import annotations

import re
import signal
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from crawler.demo.sandbox import SandboxThread
from crawler.detect.redaction import fingerprint
from crawler.engine.delivery import webhook_id
from crawler.receiver.app import verify_webhook
from sources.fakes.github import GitHubService
from tests.pipeline.e2e import Deployment, HungReceiver, ReceiverThread, broken, free_port, mint_other, wait_for
from tests.pipeline.helpers import new_secret

pytestmark = pytest.mark.e2e


@dataclass
class Scenario:
    dep: Deployment
    receiver: ReceiverThread
    live: list[str]
    inactive: list[str]
    decoys: list[str]
    unknown: list[str]
    second_crawl_output: str

    @property
    def all_tokens(self) -> list[str]:
        return self.live + self.inactive + self.decoys + self.unknown


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    folder = tmp_path_factory.mktemp("crawl")
    secret = new_secret()
    with SandboxThread(poll_interval=1.0) as sb, ReceiverThread(secret, folder / "receiver.db") as receiver:
        sb.issuer.inject(503, times=10_000, path="/v1/whoami")
        dep = Deployment(sb, folder, secret, receiver.url)
        live = [sb.mint() for _ in range(3)]
        inactive = [sb.mint(live=False) for _ in range(2)]
        decoys = [broken(sb.mint()) for _ in range(2)]
        unknown = [mint_other(sb) for _ in range(2)]
        gist = {"config.env": f"# app\nAPI_KEY={live[0]}\nOLD={inactive[0]}\n",
                "deploy.sh": f"export T={live[1]}\nexport X={decoys[0]}\nexport U={unknown[0]}\n"}
        sb.fake(GitHubService).publish_gist(gist)
        sb.publish_to("pastebin", f"tokens:\n{live[2]}\n{inactive[1]}\n{decoys[1]}\n{unknown[1]}\n")
        dep.crawl()
        # second crawl: a known live token seen again elsewhere, nothing new to notify
        sb.publish_to("pastebin", f"again {live[0]}\n")
        second = dep.crawl()
        yield Scenario(dep, receiver, live, inactive, decoys, unknown, second.stdout + second.stderr)


def test_the_receiver_got_exactly_the_live_tokens_once_each(scenario: Scenario) -> None:
    got = [r.event["data"]["token"] for r in scenario.receiver.app.requests]
    assert sorted(got) == sorted(scenario.live)
    assert [r.status for r in scenario.receiver.app.requests] == [200] * len(scenario.live)
    assert sorted(e["data"]["token"] for e in scenario.receiver.events) == sorted(scenario.live)
    ids = [r.headers["webhook-id"] for r in scenario.receiver.app.requests]
    assert sorted(ids) == sorted(webhook_id("demo-revoke", fingerprint(t)) for t in scenario.live)


def test_every_signature_verifies_with_standardwebhooks_directly(scenario: Scenario) -> None:
    assert scenario.receiver.app.requests
    for r in scenario.receiver.app.requests:
        signed = {k: v for k, v in r.headers.items() if k.startswith("webhook-")}
        assert Webhook(scenario.dep.secret).verify(r.body, signed) == r.event
        assert verify_webhook(scenario.dep.secret, r.body, signed) == r.event  # and the project's helper
        with pytest.raises(WebhookVerificationError):
            Webhook(new_secret()).verify(r.body, signed)


def test_the_payload_names_where_the_token_was_found(scenario: Scenario) -> None:
    by_token = {r.event["data"]["token"]: r.event["data"] for r in scenario.receiver.app.requests}
    gist = by_token[scenario.live[0]]
    assert gist["source"] == "github_gists" and gist["location"] == {"path": "config.env", "line": 2}
    assert gist["status"] == "live" and gist["rule"] == "demo-live" and gist["sightings"] == 1
    assert gist["token_sha256"] == fingerprint(scenario.live[0])
    assert by_token[scenario.live[1]]["location"] == {"path": "deploy.sh", "line": 1}
    paste = by_token[scenario.live[2]]
    assert paste["source"] == "pastebin" and paste["location"] == {"line": 2}


def test_the_store_holds_every_real_token_with_its_status(scenario: Scenario) -> None:
    rows = {r["fingerprint"]: r for r in scenario.dep.exposures()}
    expected = {**{fingerprint(t): "live" for t in scenario.live},
                **{fingerprint(t): "inactive" for t in scenario.inactive},
                **{fingerprint(t): "unknown" for t in scenario.unknown}}
    assert {fp: r["status"] for fp, r in rows.items()} == expected  # decoys never stored
    assert rows[fingerprint(scenario.live[0])]["sightings"] == 2  # seen again by the second crawl
    delivered = {fp for fp, r in rows.items() if [d["status"] for d in r["deliveries"]] == ["delivered"]}
    assert delivered == {fingerprint(t) for t in scenario.live}
    assert all(r["deliveries"] == [] for fp, r in rows.items() if fp not in delivered)


def test_no_plaintext_token_anywhere(scenario: Scenario) -> None:
    dep = scenario.dep
    table = dep.run("exposures")
    assert table.returncode == 0 and "demo_live_" in table.stdout
    texts = [*dep.outputs, table.stdout, table.stderr]
    blobs = db_files(dep.db)  # -wal/-shm too while they exist (see the SIGKILL test for a kept WAL)
    assert "leakpatrol.db" in blobs
    assert any(fingerprint(scenario.live[0]).encode() in b for b in blobs.values())  # the rows are there
    assert any("new demo-live token" in t for t in texts)  # the logs are there
    for token in scenario.all_tokens:
        body = token.split("_", 2)[2]
        assert_not_in_files(token, blobs)
        for text in texts:
            assert token not in text and body not in text


def test_the_second_crawl_delivered_nothing_new(scenario: Scenario) -> None:
    assert re.search(r"pastebin\s+1 documents\s+1 new sightings\s+ok", scenario.second_crawl_output)
    assert "delivered msg_" not in scenario.second_crawl_output
    assert len(scenario.receiver.app.requests) == len(scenario.live)


def db_files(db: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in db.parent.glob(db.name + "*")}


def assert_not_in_files(token: str, blobs: dict[str, bytes]) -> None:
    body = token.split("_", 2)[2]
    for name, blob in blobs.items():
        assert token.encode() not in blob and body.encode() not in blob, f"plaintext token in {name}"


# -- crash safety ------------------------------------------------------------------------------


def delivery_rows(db: Path) -> list[sqlite3.Row]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute("SELECT * FROM lp_delivery ORDER BY id").fetchall()
    finally:
        conn.close()


def sql(db: Path, statement: str) -> None:
    conn = sqlite3.connect(db)
    try:
        conn.execute(statement)
        conn.commit()
    finally:
        conn.close()


def test_sigkill_mid_delivery_then_restart_delivers_once_with_the_same_id(tmp_path: Path) -> None:
    secret = new_secret()
    with SandboxThread(poll_interval=1.0) as sb:
        with HungReceiver() as hung:
            dep = Deployment(sb, tmp_path, secret, hung.url, sources=("github_gists",))
            token = sb.mint()
            sb.fake(GitHubService).publish_gist({"app.env": f"KEY={token}\n"})
            proc = dep.popen_crawl()
            try:
                wait_for(lambda: hung.webhook_ids() or proc.poll() is not None, 60, "the first delivery attempt")
                assert proc.poll() is None, proc.communicate()[1][-3000:]
                proc.send_signal(signal.SIGKILL)  # after the outbox commit, before the answer
                proc.wait(10)
            finally:
                if proc.poll() is None:
                    proc.kill()
            first_id = hung.webhook_ids()[0]
        assert proc.returncode == -signal.SIGKILL
        blobs = db_files(dep.db)  # before any connection: closing the last one checkpoints the WAL away
        assert "leakpatrol.db-wal" in blobs  # killed: the write-ahead log is left behind, with the rows
        assert fingerprint(token).encode() in blobs["leakpatrol.db-wal"] + blobs["leakpatrol.db"]
        assert_not_in_files(token, blobs)
        [row] = delivery_rows(dep.db)
        assert (row["webhook_id"], row["status"], row["attempts"]) == (first_id, "pending", 0)
        assert row["claimed_by"] is not None  # the killed process's claim (freed at once: it is gone)

        with ReceiverThread(secret, tmp_path / "receiver.db") as receiver:
            dep.write(receiver.url)
            dep.crawl()
            dep.crawl()  # nothing left to send
    [got] = receiver.app.requests
    assert got.headers["webhook-id"] == first_id == webhook_id("demo-revoke", fingerprint(token))
    assert got.event["data"]["token"] == token and got.status == 200
    Webhook(secret).verify(got.body, got.headers)
    assert [e["data"]["token"] for e in receiver.events] == [token]
    [row] = delivery_rows(dep.db)
    assert (row["status"], row["attempts"], row["claimed_by"]) == ("delivered", 1, None)


def test_a_receiver_that_is_down_gets_the_delivery_later_with_backoff_observed(tmp_path: Path) -> None:
    secret = new_secret()
    port = free_port()
    down_url = f"http://127.0.0.1:{port}/leakpatrol"
    with SandboxThread(poll_interval=1.0) as sb:
        dep = Deployment(sb, tmp_path, secret, down_url, sources=("github_gists",),
                         notifier_extra='max_backoff = "1s"\n')
        token = sb.mint()
        sb.fake(GitHubService).publish_gist({"app.env": f"KEY={token}\n"})
        first = dep.crawl()
        assert "transport error" in first.stderr
        [row] = delivery_rows(dep.db)
        assert (row["status"], row["attempts"]) == ("pending", 1)
        assert row["next_attempt_at"] > row["last_attempt_at"]  # back-off stored
        retry_at = row["next_attempt_at"]
        with ReceiverThread(secret, tmp_path / "receiver.db", port=port) as receiver:
            # a longer back-off still running (as after many failures): the next crawl must not send
            sql(dep.db, "UPDATE lp_delivery SET next_attempt_at = '2999-01-01 00:00:00'")
            dep.crawl()
            assert receiver.app.requests == []
            [row] = delivery_rows(dep.db)
            assert (row["status"], row["attempts"]) == ("pending", 1)
            sql(dep.db, f"UPDATE lp_delivery SET next_attempt_at = '{retry_at}'")  # max_backoff = 1s
            due = datetime.fromisoformat(retry_at).replace(tzinfo=UTC)
            wait_for(lambda: datetime.now(UTC) > due, 5, "the back-off to pass")
            dep.crawl()
    [got] = receiver.app.requests
    assert got.headers["webhook-id"] == webhook_id("demo-revoke", fingerprint(token))
    assert got.event["data"]["token"] == token
    [row] = delivery_rows(dep.db)
    assert (row["status"], row["attempts"]) == ("delivered", 2)
