"""Database records (SQLModel). Datetimes are stored as UTC and always read back timezone-aware.

No column ever holds a plaintext token: ``Token.value_enc`` is AES-GCM ciphertext, ``fingerprint``
is its SHA-256 and ``redacted`` the redacted form (prefix + ≤4 body characters + fingerprint).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, LargeBinary, Text, TypeDecorator, UniqueConstraint
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """Naive UTC in the database, aware UTC in Python, on SQLite and PostgreSQL alike."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def _dt(**kw: Any) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), **kw))


class Meta(SQLModel, table=True):
    __tablename__ = "lp_meta"
    key: str = Field(primary_key=True)
    value: str


class Token(SQLModel, table=True):
    __tablename__ = "lp_token"
    id: int | None = Field(default=None, primary_key=True)
    fingerprint: str = Field(index=True, unique=True, max_length=64)
    rule: str = Field(index=True)
    severity: str = "high"
    redacted: str
    value_enc: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    status: str = Field(default="pending", index=True)  # pending | live | inactive | unknown
    status_reason: str = ""
    first_seen_at: datetime | None = _dt(nullable=False)
    first_published_at: datetime | None = _dt()
    verified_at: datetime | None = _dt()
    revoked_at: datetime | None = _dt()
    next_check_at: datetime | None = _dt(index=True)
    check_attempts: int = 0
    sightings: int = 0


class Sighting(SQLModel, table=True):
    __tablename__ = "lp_sighting"
    __table_args__ = (UniqueConstraint("token_id", "source", "url", "path", "line", name="uq_sighting_place"),)
    id: int | None = Field(default=None, primary_key=True)
    token_id: int = Field(foreign_key="lp_token.id", index=True)
    source: str = Field(index=True)
    url: str = Field(sa_column=Column(Text, nullable=False))
    path: str = ""
    line: int = 0
    published_at: datetime | None = _dt()
    found_at: datetime | None = _dt(nullable=False, index=True)
    place: str = ""  # repository / user / paste author: where it leaked, for "leaked more than once"
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Verification(SQLModel, table=True):
    __tablename__ = "lp_verification"
    id: int | None = Field(default=None, primary_key=True)
    token_id: int = Field(foreign_key="lp_token.id", index=True)
    verifier: str
    status: str
    reason: str = ""
    at: datetime | None = _dt(nullable=False)


class Delivery(SQLModel, table=True):
    """The outbox: one row per token × notifier (or per report × notifier); committed before sending."""

    __tablename__ = "lp_delivery"
    __table_args__ = (UniqueConstraint("webhook_id", name="uq_delivery_webhook_id"),)
    id: int | None = Field(default=None, primary_key=True)
    webhook_id: str
    token_id: int | None = Field(default=None, foreign_key="lp_token.id", index=True)
    notifier: str = Field(index=True)
    event_type: str = "token.exposed"
    payload: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))  # reports only
    status: str = Field(default="pending", index=True)  # pending | delivered | failed | dead | disabled
    attempts: int = 0
    created_at: datetime | None = _dt(nullable=False)
    next_attempt_at: datetime | None = _dt(index=True)
    last_attempt_at: datetime | None = _dt()
    delivered_at: datetime | None = _dt()
    last_error: str = ""
    last_status: int | None = None
    claimed_by: str | None = None
    claimed_until: datetime | None = _dt()


class SourceState(SQLModel, table=True):
    __tablename__ = "lp_source_state"
    name: str = Field(primary_key=True)
    cursor: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    next_poll_at: datetime | None = _dt()
    last_poll_at: datetime | None = _dt()
    last_success_at: datetime | None = _dt()
    last_error_at: datetime | None = _dt()
    last_error: str = ""
    failing_since: datetime | None = _dt()
    lease_owner: str | None = None
    lease_until: datetime | None = _dt()


class NotifierState(SQLModel, table=True):
    """A notifier disabled by its endpoint (410 Gone): why, when, and a fingerprint of the endpoint
    it had then (``target``: SHA-256 of the URL, never the URL, which can be a credential), so that
    a changed URL in the config re-enables it."""

    __tablename__ = "lp_notifier_state"
    notifier: str = Field(primary_key=True)
    disabled_at: datetime | None = _dt()
    reason: str = ""
    target: str = ""


class ParkedDocument(SQLModel, table=True):
    """A document whose fetch failed transiently, waiting to be fetched again (one row per source and
    document key). ``ref`` is what the source needs to fetch it (JSON; never content). After the
    source's give-up age the row stays as a record, ``given_up_at`` set and no next attempt."""

    __tablename__ = "lp_parked_document"
    source: str = Field(primary_key=True)
    key: str = Field(primary_key=True)
    ref: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    reason: str = ""
    detail: str = ""
    attempts: int = 0
    first_failed_at: datetime | None = _dt(nullable=False)
    next_attempt_at: datetime | None = _dt(index=True)
    given_up_at: datetime | None = _dt()


class Feedback(SQLModel, table=True):
    """The issuer's label for a token, from a ``github_partner`` answer: one row per token, the latest wins."""

    __tablename__ = "lp_feedback"
    id: int | None = Field(default=None, primary_key=True)
    token_id: int = Field(foreign_key="lp_token.id", index=True, unique=True)
    notifier: str
    label: str  # true_positive | false_positive
    at: datetime | None = _dt(nullable=False)


class FetchItem(SQLModel, table=True):
    """The durable fetch queue: one row per item to fetch (a public push: repository id + head), shared
    by every source that sees it and claimed like an outbox row (:mod:`crawler.store.workqueue`), so
    each is fetched once across sources and processes. ``handler`` is the source that saw it first and
    fetches it, in its ``lane`` (``realtime`` or ``backfill``); ``seen_*_at`` record which lanes saw
    it (coverage). ``ref`` is what the handler needs to fetch it (JSON; never content). Rows stay after
    they are done, as the record the coverage report counts."""

    __tablename__ = "lp_fetch"
    __table_args__ = (UniqueConstraint("key", name="uq_fetch_key"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str
    handler: str = Field(index=True)
    lane: str = "realtime"
    ref: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", index=True)  # pending | done | skipped | dropped
    attempts: int = 0
    last_error: str = ""
    published_at: datetime | None = _dt(index=True)
    queued_at: datetime | None = _dt(nullable=False)
    seen_realtime_at: datetime | None = _dt()
    seen_backfill_at: datetime | None = _dt()
    next_attempt_at: datetime | None = _dt(index=True)
    fetched_at: datetime | None = _dt()
    claimed_by: str | None = None
    claimed_until: datetime | None = _dt()
