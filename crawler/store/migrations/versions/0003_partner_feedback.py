"""partner feedback: lp_feedback, the issuer's true/false-positive label per token

Revision ID: 0003_partner_feedback
Revises: 0002_parked_documents
Create Date: 2026-11-30

One row per token (unique ``token_id``), written when a ``github_partner`` endpoint answers with
feedback for it; a later label replaces the earlier one.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_partner_feedback"
down_revision: str | Sequence[str] | None = "0002_parked_documents"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lp_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.Column("notifier", sa.String(), nullable=False),
        sa.Column("label", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["token_id"], ["lp_token.id"]),
    )
    op.create_index(op.f("ix_lp_feedback_token_id"), "lp_feedback", ["token_id"], unique=True)


def downgrade() -> None:
    op.drop_index(op.f("ix_lp_feedback_token_id"), table_name="lp_feedback")
    op.drop_table("lp_feedback")
