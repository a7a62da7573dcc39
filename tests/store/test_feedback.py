"""Issuer feedback per token on SQLite and PostgreSQL: one row per token, the latest label wins,
counts per rule and label, and the row is bound to an existing token."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from crawler.store.database import Store
from tests.store.helpers import T0, new_token, record


def test_labels_per_token_latest_wins_and_counts_per_rule(store: Store) -> None:
    a, b, c = (record(store, new_token()).token_id for _ in range(3))
    store.record_feedback(a, "acme-partner", "false_positive", T0)
    store.record_feedback(a, "acme-partner", "true_positive", T0 + timedelta(seconds=5))
    store.record_feedback(b, "other-partner", "false_positive", T0 + timedelta(seconds=6))
    rows = {f.token_id: f for f in store.feedback()}
    assert {t: (f.label, f.notifier, f.at) for t, f in rows.items()} == {
        a: ("true_positive", "acme-partner", T0 + timedelta(seconds=5)),
        b: ("false_positive", "other-partner", T0 + timedelta(seconds=6))}
    assert [f.token_id for f in store.feedback([b, c])] == [b]
    [rule] = {t.rule for t in store.tokens()}
    assert store.feedback_counts() == {rule: {"true_positive": 1, "false_positive": 1}}
    assert store.feedback_counts("no-such-rule") == {}


def test_feedback_needs_an_existing_token(store: Store) -> None:
    with pytest.raises(IntegrityError):
        store.record_feedback(987654, "acme-partner", "true_positive", T0)
    assert store.feedback() == []
