"""fetch queue: pushes to fetch, shared by sources and processes, claimed like outbox rows

Revision ID: 0005_fetch_queue
Revises: 0003_partner_feedback
Create Date: 2026-11-30

One table (``lp_fetch``), one row per item keyed by ``key`` (a push: repository id + head); see
:mod:`crawler.store.fetches` and :mod:`crawler.store.workqueue`. Frozen like every revision: plain
``sqlalchemy`` types, no models import.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_fetch_queue"
down_revision: str | Sequence[str] | None = "0003_partner_feedback"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXED = ("handler", "status", "published_at", "next_attempt_at")


def upgrade() -> None:
    op.create_table(
        "lp_fetch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("handler", sa.String(), nullable=False),
        sa.Column("lane", sa.String(), nullable=False),
        sa.Column("ref", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.Column("queued_at", sa.DateTime(), nullable=False),
        sa.Column("seen_realtime_at", sa.DateTime(), nullable=True),
        sa.Column("seen_backfill_at", sa.DateTime(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("fetched_at", sa.DateTime(), nullable=True),
        sa.Column("claimed_by", sa.String(), nullable=True),
        sa.Column("claimed_until", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key", name="uq_fetch_key"),
    )
    for column in INDEXED:
        op.create_index(op.f(f"ix_lp_fetch_{column}"), "lp_fetch", [column], unique=False)


def downgrade() -> None:
    for column in INDEXED:
        op.drop_index(op.f(f"ix_lp_fetch_{column}"), table_name="lp_fetch")
    op.drop_table("lp_fetch")
