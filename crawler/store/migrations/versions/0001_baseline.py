"""baseline: the schema of leakpatrol 0.1 (create_all, lp_meta.schema_version 1)

Revision ID: 0001
Revises:
Create Date: 2026-11-30

Frozen: every table, column, index and constraint is spelled out here with plain ``sqlalchemy``
types (``String`` for SQLModel's ``AutoString``, ``DateTime`` for ``UTCDateTime``, naive UTC), exactly
as ``create_all`` made them on SQLite and PostgreSQL. Never import crawler.store.models here, and
never edit this file: a database made before Alembic is *stamped* at this revision, not re-created.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lp_meta",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("value", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "lp_token",
        sa.Column("id", sa.Integer(), nullable=False),  # SERIAL on PostgreSQL
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("rule", sa.String(), nullable=False),
        sa.Column("severity", sa.String(), nullable=False),
        sa.Column("redacted", sa.String(), nullable=False),
        sa.Column("value_enc", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("status_reason", sa.String(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(), nullable=False),
        sa.Column("first_published_at", sa.DateTime(), nullable=True),
        sa.Column("verified_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("next_check_at", sa.DateTime(), nullable=True),
        sa.Column("check_attempts", sa.Integer(), nullable=False),
        sa.Column("sightings", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_lp_token_fingerprint"), "lp_token", ["fingerprint"], unique=True)
    op.create_index(op.f("ix_lp_token_rule"), "lp_token", ["rule"], unique=False)
    op.create_index(op.f("ix_lp_token_status"), "lp_token", ["status"], unique=False)
    op.create_index(op.f("ix_lp_token_next_check_at"), "lp_token", ["next_check_at"], unique=False)

    op.create_table(
        "lp_source_state",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("cursor", sa.JSON(), nullable=False),
        sa.Column("next_poll_at", sa.DateTime(), nullable=True),
        sa.Column("last_poll_at", sa.DateTime(), nullable=True),
        sa.Column("last_success_at", sa.DateTime(), nullable=True),
        sa.Column("last_error_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(), nullable=False),
        sa.Column("failing_since", sa.DateTime(), nullable=True),
        sa.Column("lease_owner", sa.String(), nullable=True),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "lp_notifier_state",
        sa.Column("notifier", sa.String(), nullable=False),
        sa.Column("disabled_at", sa.DateTime(), nullable=True),
        sa.Column("reason", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("notifier"),
    )

    op.create_table(
        "lp_sighting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.Column("found_at", sa.DateTime(), nullable=False),
        sa.Column("place", sa.String(), nullable=False),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_id", "source", "url", "path", "line", name="uq_sighting_place"),
        sa.ForeignKeyConstraint(["token_id"], ["lp_token.id"]),
    )
    op.create_index(op.f("ix_lp_sighting_token_id"), "lp_sighting", ["token_id"], unique=False)
    op.create_index(op.f("ix_lp_sighting_source"), "lp_sighting", ["source"], unique=False)
    op.create_index(op.f("ix_lp_sighting_found_at"), "lp_sighting", ["found_at"], unique=False)

    op.create_table(
        "lp_verification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.Column("verifier", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["token_id"], ["lp_token.id"]),
    )
    op.create_index(op.f("ix_lp_verification_token_id"), "lp_verification", ["token_id"], unique=False)

    op.create_table(
        "lp_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("webhook_id", sa.String(), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=True),  # NULL for report deliveries
        sa.Column("notifier", sa.String(), nullable=False),
        sa.Column("event_type", sa.String(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(), nullable=False),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("claimed_by", sa.String(), nullable=True),
        sa.Column("claimed_until", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("webhook_id", name="uq_delivery_webhook_id"),
        sa.ForeignKeyConstraint(["token_id"], ["lp_token.id"]),
    )
    op.create_index(op.f("ix_lp_delivery_token_id"), "lp_delivery", ["token_id"], unique=False)
    op.create_index(op.f("ix_lp_delivery_notifier"), "lp_delivery", ["notifier"], unique=False)
    op.create_index(op.f("ix_lp_delivery_status"), "lp_delivery", ["status"], unique=False)
    op.create_index(op.f("ix_lp_delivery_next_attempt_at"), "lp_delivery", ["next_attempt_at"], unique=False)


def downgrade() -> None:
    """Drops every table and its data (never run by leakpatrol itself)."""
    for table in ("lp_delivery", "lp_verification", "lp_sighting", "lp_notifier_state", "lp_source_state",
                  "lp_token", "lp_meta"):
        op.drop_table(table)
