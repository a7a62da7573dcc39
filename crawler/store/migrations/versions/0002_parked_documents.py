"""parked documents: per-document fetches that failed transiently, fetched again later

Revision ID: 0002_parked_documents
Revises: 0001
Create Date: 2026-11-30

One table keyed by source and document key (``lp_parked_document``); see
:mod:`crawler.store.parked`. Frozen like every revision: plain ``sqlalchemy`` types, no models import.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_parked_documents"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lp_parked_document",
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("ref", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("detail", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_failed_at", sa.DateTime(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("given_up_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("source", "key"),
    )
    op.create_index(op.f("ix_lp_parked_document_next_attempt_at"), "lp_parked_document", ["next_attempt_at"],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_lp_parked_document_next_attempt_at"), table_name="lp_parked_document")
    op.drop_table("lp_parked_document")
