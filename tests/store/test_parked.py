"""Parked documents in the store (SQLite and PostgreSQL): park, due, park again, unpark, give up."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crawler.store.database import Store
from tests.store.helpers import T0

REF = {"kind": "raw", "url": "https://gist.githubusercontent.com/u/1/raw/a/f.env", "meta": {"gist_id": "1"}}


def test_a_parked_document_is_due_at_its_time_and_keeps_its_first_failure(store: Store) -> None:
    row = store.park("github_gists", "1/f.env@t", REF, reason="unavailable", detail="HTTP 503",
                     now=T0, retry_at=T0 + timedelta(seconds=5))
    assert (row.attempts, row.first_failed_at, row.given_up_at) == (1, T0, None)
    assert store.due_parked("github_gists", T0 + timedelta(seconds=4)) == []
    [due] = store.due_parked("github_gists", T0 + timedelta(seconds=5))
    assert (due.key, due.ref, due.reason) == ("1/f.env@t", REF, "unavailable")
    assert store.due_parked("pastebin", T0 + timedelta(days=1)) == []  # per source
    again = store.park("github_gists", "1/f.env@t", REF, reason="unavailable", detail="timeout",
                       now=T0 + timedelta(seconds=5), retry_at=T0 + timedelta(seconds=15))
    assert (again.attempts, again.first_failed_at, again.detail) == (2, T0, "timeout")
    assert store.count_parked() == {"github_gists": 1}


def test_unpark_forgets_and_give_up_keeps_the_record(store: Store) -> None:
    for key in ("a", "b"):
        store.park("pastebin", key, {"kind": "paste", "paste": {"key": key}}, reason="not_ready", detail="",
                   now=T0, retry_at=T0 + timedelta(seconds=60))
    store.unpark("pastebin", "a")
    store.give_up("pastebin", "b", T0 + timedelta(days=1), "still failing")
    assert store.parked_documents("pastebin", given_up=False) == []
    [gone] = store.parked_documents("pastebin", given_up=True)
    assert (gone.key, gone.next_attempt_at, gone.given_up_at, gone.detail) == (
        "b", None, T0 + timedelta(days=1), "still failing")
    assert store.due_parked("pastebin", T0 + timedelta(days=30)) == []  # never fetched again
    store.park("pastebin", "b", {"kind": "paste"}, reason="not_ready", detail="", now=T0 + timedelta(days=2),
               retry_at=T0 + timedelta(days=2))  # parked again by a re-poll: it stays given up
    assert store.parked_documents("pastebin", given_up=True)[0].given_up_at == T0 + timedelta(days=1)
    assert store.count_parked() == {}


def test_a_stored_ref_is_sealed_bound_to_its_row_and_read_back_whole(store: Store) -> None:
    from sqlalchemy import text

    from crawler.kernel.errors import EncryptionKeyError

    store.park("github_gists", "1/f.env@t", REF, reason="unavailable", detail="", now=T0, retry_at=T0)
    with store.session() as s:
        [(stored,)] = s.execute(text("SELECT ref FROM lp_parked_document")).all()
    assert "gist.githubusercontent.com" not in str(stored) and "sealed" in str(stored)
    assert store.parked_documents("github_gists")[0].ref == REF
    with store.session() as s:  # a sealed ref moved to another row does not open there
        s.execute(text("UPDATE lp_parked_document SET key = 'other'"))
        s.commit()
    with pytest.raises(EncryptionKeyError):
        store.parked_documents("github_gists")
