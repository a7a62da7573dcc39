"""The store contract, run on SQLite and on PostgreSQL alike (see conftest's ``db`` fixture)."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import Session, select

from crawler.detect.redaction import fingerprint
from crawler.kernel.errors import EncryptionKeyError, StoreError
from crawler.store.crypto import Cipher
from crawler.store.database import Store, open_store
from crawler.store.models import Delivery, Sighting, Token, Verification
from crawler.store.tokens import Found
from tests.store.conftest import Db
from tests.store.helpers import T0, new_token, record

# -- opening (migrations: test_migrations.py) ---------------------------------------------------


def test_an_unreachable_database_is_a_store_error_without_the_password() -> None:
    store = Store("postgresql+psycopg://user:hunter2@127.0.0.1:1/nothing?connect_timeout=2", None)
    with pytest.raises(StoreError) as info:
        store.migrate()
    assert "hunter2" not in str(info.value) and "cannot open" in str(info.value)


def open_at_once(url: str, processes: int) -> list[BaseException]:
    """Open ``url`` from several threads released together (each its own Store, as processes would)."""
    start = threading.Barrier(processes)
    errors: list[BaseException] = []

    def opener() -> None:
        store = Store(url, None)
        try:
            start.wait()
            with store.engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        except BaseException as exc:  # reported by the caller
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=opener) for _ in range(processes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return errors


def test_processes_opening_a_new_sqlite_file_at_once_all_succeed(tmp_path: Path) -> None:
    """Turning a new file to WAL answers "locked" at once to all but one connection: they retry."""
    for n in range(40):
        assert open_at_once(f"sqlite:///{tmp_path / f'new{n}.db'}", 8) == []


# -- key binding -------------------------------------------------------------------------------


def test_the_first_key_is_bound_and_a_different_key_is_refused(db: Db, cipher: Cipher) -> None:
    open_store(db.url, cipher).close()
    open_store(db.url, cipher).close()  # the same key again is fine
    with pytest.raises(EncryptionKeyError, match="does not decrypt"):
        open_store(db.url, Cipher(os.urandom(32)))
    store = Store(db.url, None)
    try:
        with pytest.raises(EncryptionKeyError, match="no key loaded"):
            store.check_key()
    finally:
        store.close()


# -- tokens and sightings ----------------------------------------------------------------------


def test_a_new_token_is_stored_encrypted_with_its_first_sighting(store: Store) -> None:
    token = new_token()
    published = T0 - timedelta(minutes=5)
    found = record(store, token, published_at=published, place="octo/leaky", meta={"repo": "octo/leaky"})
    assert found.new_token and found.new_sighting
    tok = store.token(found.token_id)
    assert (tok.fingerprint, tok.rule, tok.status, tok.sightings) == (fingerprint(token), "acme-live", "pending", 1)
    assert tok.first_seen_at == T0 and tok.next_check_at == T0 and tok.first_published_at == published
    assert tok.first_seen_at is not None and tok.first_seen_at.utcoffset() == timedelta(0)
    assert token.encode() not in tok.value_enc and token[len("acme_live_"):].encode() not in tok.value_enc
    assert tok.redacted.startswith("acme_live_") and token not in tok.redacted
    [sighting] = store.sightings([found.token_id])
    assert (sighting.source, sighting.url, sighting.path, sighting.line, sighting.place) == (
        "github_gists", "https://gist.github.com/u/1", "a.env", 3, "octo/leaky")
    assert sighting.meta == {"repo": "octo/leaky"} and sighting.found_at == T0


def test_the_same_place_again_adds_nothing(store: Store) -> None:
    token = new_token()
    first = record(store, token)
    again = record(store, token, now=T0 + timedelta(hours=1))
    assert (again.token_id, again.new_token, again.new_sighting) == (first.token_id, False, False)
    assert store.token(first.token_id).sightings == 1
    assert len(store.sightings([first.token_id])) == 1


def test_a_second_place_adds_a_sighting_and_counts_it(store: Store) -> None:
    token = new_token()
    first = record(store, token, published_at=T0 - timedelta(minutes=1))
    earlier = T0 - timedelta(days=2)
    second = record(store, token, url="https://pastebin.com/abc", path=None, line=1, source="pastebin",
                    published_at=earlier, now=T0 + timedelta(minutes=10))
    assert (second.token_id, second.new_token, second.new_sighting) == (first.token_id, False, True)
    tok = store.token(first.token_id)
    assert tok.sightings == 2 and tok.first_published_at == earlier and tok.first_seen_at == T0
    first_sighting = store.first_sighting(first.token_id)
    assert first_sighting is not None and first_sighting.source == "github_gists"
    assert [s.source for s in store.sightings([first.token_id])] == ["github_gists", "pastebin"]
    assert len(store.tokens()) == 1


def test_a_token_stored_concurrently_by_another_process_is_not_duplicated(db: Db, store: Store,
                                                                          cipher: Cipher) -> None:
    """Eight processes (stores) record the same token at the same moment: one token row, one of them
    sees it as new, and every sighting counts (the conflict is resolved in SQL, not by retrying)."""
    token = new_token()
    others = [open_store(db.url, cipher) for _ in range(8)]
    start = threading.Barrier(len(others))

    def one(n: int) -> Found:
        start.wait()
        return record(others[n], token, url=f"https://elsewhere.example/{n}")

    try:
        with ThreadPoolExecutor(len(others)) as pool:
            found = list(pool.map(one, range(len(others))))
    finally:
        for other in others:
            other.close()
    assert len({f.token_id for f in found}) == 1
    assert sum(f.new_token for f in found) == 1 and all(f.new_sighting for f in found)
    assert len(store.tokens()) == 1 and store.token(found[0].token_id).sightings == len(others)


def test_record_without_a_key_is_refused(db: Db, store: Store) -> None:
    keyless = Store(db.url, None)
    try:
        with pytest.raises(EncryptionKeyError):
            record(keyless, new_token())
        with pytest.raises(StoreError, match="no token #12345"):
            keyless.token(12345)
    finally:
        keyless.close()


# -- encryption --------------------------------------------------------------------------------


def test_reveal_decrypts_and_the_ciphertext_is_bound_to_its_row(store: Store, cipher: Cipher) -> None:
    a, b = new_token(), new_token()
    ta = store.token(record(store, a).token_id)
    tb = store.token(record(store, b).token_id)
    assert store.reveal(ta) == a and store.reveal(tb) == b
    assert ta.value_enc != cipher.encrypt(a.encode(), ta.fingerprint.encode())  # fresh nonce each time
    moved = ta.model_copy(update={"fingerprint": tb.fingerprint})  # a's ciphertext under b's AAD
    with pytest.raises(EncryptionKeyError) as info:
        store.reveal(moved)
    assert a not in str(info.value) and b not in str(info.value)
    with pytest.raises(EncryptionKeyError):
        Cipher(os.urandom(32)).decrypt(ta.value_enc, ta.fingerprint.encode())


# -- verdicts ----------------------------------------------------------------------------------


def test_live_then_inactive_records_revoked_at_and_history(store: Store) -> None:
    tid = record(store, new_token()).token_id
    t1, t2 = T0 + timedelta(seconds=1), T0 + timedelta(hours=1)
    assert store.record_verdict(tid, "acme-introspect", "live", "active", next_check_at=t2, now=t1) == (
        "pending", "live")
    tok = store.token(tid)
    assert (tok.status, tok.verified_at, tok.next_check_at, tok.revoked_at) == ("live", t1, t2, None)
    assert store.record_verdict(tid, "acme-introspect", "inactive", "not active", next_check_at=None, now=t2) == (
        "live", "inactive")
    tok = store.token(tid)
    assert (tok.status, tok.verified_at, tok.revoked_at, tok.next_check_at) == ("inactive", t2, t2, None)
    history = [(v.token_id, v.status, v.at) for v in store.verifications()]
    assert history == [(tid, "live", t1), (tid, "inactive", t2)]


def test_inactive_from_the_start_is_not_a_revocation(store: Store) -> None:
    tid = record(store, new_token()).token_id
    store.record_verdict(tid, "v", "inactive", "not active", next_check_at=None, now=T0)
    assert store.token(tid).revoked_at is None


def test_unknown_counts_attempts_and_a_decision_resets_them(store: Store) -> None:
    tid = record(store, new_token()).token_id
    for i in range(1, 4):
        store.record_verdict(tid, "v", "unknown", "HTTP 503", next_check_at=T0 + timedelta(minutes=i), now=T0)
        assert store.token(tid).check_attempts == i
    tok = store.token(tid)
    assert tok.status == "unknown" and tok.verified_at is None and tok.status_reason == "HTTP 503"
    store.record_verdict(tid, "v", "live", "ok", next_check_at=None, now=T0)
    assert store.token(tid).check_attempts == 0


def test_due_checks_are_pending_unknown_and_live_tokens_whose_time_has_come(store: Store) -> None:
    ids = {name: record(store, new_token()).token_id
           for name in ("pending", "unknown", "live", "inactive", "later", "never")}
    store.record_verdict(ids["unknown"], "v", "unknown", "", next_check_at=T0 - timedelta(minutes=1), now=T0)
    store.record_verdict(ids["live"], "v", "live", "", next_check_at=T0 - timedelta(minutes=2), now=T0)
    store.record_verdict(ids["inactive"], "v", "inactive", "", next_check_at=T0 - timedelta(minutes=3), now=T0)
    store.record_verdict(ids["later"], "v", "unknown", "", next_check_at=T0 + timedelta(minutes=1), now=T0)
    store.record_verdict(ids["never"], "v", "unknown", "", next_check_at=None, now=T0)
    due = [t.id for t in store.due_checks(T0)]
    assert due == [ids["live"], ids["unknown"], ids["pending"]]  # oldest first
    assert [t.id for t in store.due_checks(T0, limit=1)] == [ids["live"]]
    assert ids["later"] in {t.id for t in store.due_checks(T0 + timedelta(minutes=1))}


# -- outbox ------------------------------------------------------------------------------------


def test_enqueue_is_idempotent_on_the_webhook_id(store: Store) -> None:
    tid = record(store, new_token()).token_id
    assert store.enqueue(webhook_id="msg_1", notifier="hook", token_id=tid, event_type="token.exposed", now=T0)
    assert not store.enqueue(webhook_id="msg_1", notifier="hook", token_id=tid, event_type="token.exposed", now=T0)
    [row] = store.deliveries([tid])
    assert (row.webhook_id, row.status, row.attempts, row.next_attempt_at) == ("msg_1", "pending", 0, T0)
    assert store.enqueue(webhook_id="msg_r", notifier="chat", token_id=None, event_type="report.weekly",
                         payload={"report": {"n": 1}, "summary": "s"}, now=T0)
    assert [d.payload for d in store.deliveries() if d.token_id is None] == [{"report": {"n": 1}, "summary": "s"}]


def test_a_claim_is_exclusive_until_it_expires(db: Db, store: Store, cipher: Cipher) -> None:
    tid = record(store, new_token()).token_id
    store.enqueue(webhook_id="msg_1", notifier="hook", token_id=tid, event_type="token.exposed", now=T0)
    [row] = store.due_deliveries(T0)
    assert row.id is not None
    other = open_store(db.url, cipher)  # a second process on the same database
    try:
        mine = store.claim(row.id, "a", 60, T0)
        assert mine is not None and mine.claimed_by == "a" and mine.claimed_until == T0 + timedelta(seconds=60)
        assert other.claim(row.id, "b", 60, T0 + timedelta(seconds=30)) is None
        assert store.due_deliveries(T0 + timedelta(seconds=30)) == []  # claimed rows are not due
        # held even against its owner: one process (its delivery job and its hot path) never sends a row twice
        assert store.claim(row.id, "a", 60, T0 + timedelta(seconds=30)) is None
        late = T0 + timedelta(seconds=91)
        assert [d.id for d in other.due_deliveries(late)] == [row.id]
        taken = other.claim(row.id, "b", 60, late)
        assert taken is not None and taken.claimed_by == "b"
        assert store.claim(row.id, "a", 60, late) is None
    finally:
        other.close()


def test_finish_attempt_states(store: Store) -> None:
    tid = record(store, new_token()).token_id
    for n in ("retry", "ok", "gone", "bad", "dead"):
        store.enqueue(webhook_id=f"msg_{n}", notifier=n, token_id=tid, event_type="token.exposed", now=T0)
    rows = {d.notifier: d for d in store.deliveries()}
    for n, row in rows.items():
        assert row.id is not None and store.claim(row.id, "a", 60, T0) is not None, n
    later = T0 + timedelta(seconds=5)
    retry_at = T0 + timedelta(minutes=2)
    store.finish_attempt(rows["retry"].id or 0, status="pending", error="HTTP 503", http_status=503,
                         next_attempt_at=retry_at, now=later)
    store.finish_attempt(rows["ok"].id or 0, status="delivered", http_status=200, now=later)
    store.finish_attempt(rows["gone"].id or 0, status="disabled", error="x" * 900, http_status=410, now=later)
    store.finish_attempt(rows["bad"].id or 0, status="failed", error="HTTP 400", http_status=400, now=later)
    store.finish_attempt(rows["dead"].id or 0, status="dead", error="timeout", now=later)
    after = {d.notifier: d for d in store.deliveries([tid])}
    assert {n: d.status for n, d in after.items()} == {
        "retry": "pending", "ok": "delivered", "gone": "disabled", "bad": "failed", "dead": "dead"}
    assert all(d.attempts == 1 and d.claimed_by is None and d.last_attempt_at == later for d in after.values())
    assert after["ok"].delivered_at == later and after["retry"].delivered_at is None
    assert (after["retry"].next_attempt_at, after["retry"].last_status, after["retry"].last_error) == (
        retry_at, 503, "HTTP 503")
    assert len(after["gone"].last_error) == 500
    assert store.due_deliveries(retry_at - timedelta(seconds=1)) == []
    assert [d.webhook_id for d in store.due_deliveries(retry_at)] == ["msg_retry"]
    assert store.claim(after["ok"].id or 0, "b", 60, retry_at) is None  # only pending rows are claimed


def test_delivery_counts_match_the_rows_and_load_none(store: Store) -> None:
    tid = record(store, new_token()).token_id
    assert (store.count_due_deliveries(T0), store.count_pending_deliveries()) == (0, 0)
    for n in ("a", "b", "c", "d"):
        store.enqueue(webhook_id=f"msg_{n}", notifier=n, token_id=tid, event_type="token.exposed", now=T0)
    rows = {d.notifier: d.id or 0 for d in store.deliveries()}
    store.claim(rows["a"], "me", 60, T0)  # claimed: pending, not due until the claim expires
    store.claim(rows["b"], "me", 60, T0)
    store.finish_attempt(rows["b"], status="pending", next_attempt_at=T0 + timedelta(minutes=5), now=T0)
    store.claim(rows["c"], "me", 60, T0)
    store.finish_attempt(rows["c"], status="delivered", now=T0)
    statements: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda _c, _cur, stmt, *_a: statements.append(stmt))
    for at in (T0, T0 + timedelta(seconds=61), T0 + timedelta(minutes=5)):
        assert store.count_due_deliveries(at) == len(store.due_deliveries(at)), at
    assert [store.count_due_deliveries(T0 + timedelta(seconds=s)) for s in (0, 61, 300)] == [1, 2, 3]
    assert store.count_pending_deliveries() == 3
    counts = [s for s in statements if "count(" in s.lower()]
    assert len(counts) == 7 and all("lp_delivery.id" not in s.lower() for s in counts)


def test_release_dead_claims_frees_only_pending_rows_of_dead_owners(store: Store) -> None:
    tid = record(store, new_token()).token_id
    for n in ("dead1", "dead2", "alive", "done"):
        store.enqueue(webhook_id=f"msg_{n}", notifier=n, token_id=tid, event_type="token.exposed", now=T0)
    rows = {d.notifier: d.id or 0 for d in store.deliveries()}
    owners = {"dead1": "host:1", "dead2": "host:1", "alive": "host:2", "done": "host:1"}
    for n, owner in owners.items():
        assert store.claim(rows[n], owner, 600, T0) is not None
    with store.session() as s:  # a finished row that still names its (dead) claimer must stay as it is
        row = s.get(Delivery, rows["done"])
        assert row is not None
        row.status = "delivered"
        s.add(row)
        s.commit()
    asked: list[str] = []

    def is_dead(owner: str) -> bool:
        asked.append(owner)
        return owner == "host:1"

    assert store.release_dead_claims(is_dead) == 2
    assert sorted(asked) == ["host:1", "host:2"]  # each owner asked once
    after = {d.notifier: d for d in store.deliveries()}
    assert (after["dead1"].claimed_by, after["dead1"].claimed_until, after["dead2"].claimed_by) == (None, None, None)
    assert after["alive"].claimed_by == "host:2" and after["done"].claimed_by == "host:1"
    assert {d.notifier for d in store.due_deliveries(T0)} == {"dead1", "dead2"}
    assert store.release_dead_claims(lambda _owner: False) == 0


def test_disabled_notifiers_are_remembered(store: Store) -> None:
    assert store.disabled_notifiers() == set()
    store.disable_notifier("hook", "HTTP 410", T0)
    store.disable_notifier("hook", "HTTP 410 again", T0)
    assert store.disabled_notifiers() == {"hook"}


# -- source state and leases ------------------------------------------------------------------


def test_source_state_round_trips_the_cursor(store: Store) -> None:
    assert store.source_state("github_gists").cursor == {}
    cursor: dict[str, Any] = {"since": "2026-11-28T22:00:00Z", "seen": ["a"]}
    store.update_source("github_gists", cursor=cursor, next_poll_at=T0)
    cursor["seen"].append("b")  # a mutated dict is stored as changed
    store.update_source("github_gists", cursor=cursor)
    state = store.source_state("github_gists")
    assert state.cursor == {"since": "2026-11-28T22:00:00Z", "seen": ["a", "b"]} and state.next_poll_at == T0
    assert [s.name for s in store.all_source_states()] == ["github_gists"]


def test_one_lease_holder_at_a_time(db: Db, store: Store, cipher: Cipher) -> None:
    other = open_store(db.url, cipher)
    try:
        state = store.take_lease("pastebin", "a", 60, T0)  # the first poll ever creates the row
        assert state is not None and state.lease_owner == "a" and state.cursor == {}
        assert other.take_lease("pastebin", "b", 60, T0 + timedelta(seconds=10)) is None
        assert store.take_lease("pastebin", "a", 60, T0 + timedelta(seconds=30)) is not None  # renew to T0+90
        assert other.take_lease("pastebin", "b", 60, T0 + timedelta(seconds=80)) is None
        assert other.take_lease("pastebin", "b", 60, T0 + timedelta(seconds=91)) is not None  # expired
        store.release_lease("pastebin", "a")  # not the holder: no effect
        assert store.take_lease("pastebin", "a", 60, T0 + timedelta(seconds=100)) is None
        other.release_lease("pastebin", "b")
        assert store.take_lease("pastebin", "a", 60, T0 + timedelta(seconds=100)) is not None
        assert other.take_lease("github_gists", "b", 60, T0 + timedelta(seconds=100)) is not None  # per source
    finally:
        other.close()


# -- listing -----------------------------------------------------------------------------------


def test_tokens_and_sightings_listing_filters(store: Store) -> None:
    old = record(store, new_token(), now=T0 - timedelta(days=10)).token_id
    mid = record(store, new_token(), now=T0 - timedelta(days=3)).token_id
    new = record(store, new_token(), now=T0).token_id
    record(store, store.reveal(store.token(new)), url="https://pastebin.com/x", now=T0)
    store.record_verdict(mid, "v", "live", "", next_check_at=None, now=T0)
    store.record_verdict(new, "v", "unknown", "", next_check_at=None, now=T0)
    assert [t.id for t in store.tokens()] == [new, mid, old]  # newest first
    assert [t.id for t in store.tokens(status=["live"])] == [mid]
    assert [t.id for t in store.tokens(status=["live", "pending"])] == [mid, old]
    assert [t.id for t in store.tokens(since=T0 - timedelta(days=7))] == [new, mid]
    assert [t.id for t in store.tokens(status=["unknown"], since=T0 - timedelta(days=7))] == [new]
    assert [s.token_id for s in store.sightings([new])] == [new, new]
    assert {s.token_id for s in store.sightings()} == {old, mid, new}
    assert store.sightings([]) == []
    store.enqueue(webhook_id="msg_m", notifier="hook", token_id=mid, event_type="token.exposed", now=T0)
    assert [d.token_id for d in store.deliveries([mid])] == [mid] and store.deliveries([old]) == []


def test_no_column_holds_the_plaintext(store: Store) -> None:
    token = new_token()
    tid = record(store, token).token_id
    store.record_verdict(tid, "v", "live", "introspection: active", next_check_at=None, now=T0)
    with Session(store.engine) as s:
        rows: list[Any] = [*s.exec(select(Token)), *s.exec(select(Sighting)), *s.exec(select(Verification))]
    dumped = repr([r.model_dump() for r in rows])
    assert fingerprint(token) in dumped and token not in dumped and token[10:] not in dumped
