"""hostile input: lp_notifier_state.target, the endpoint a notifier was disabled at

Revision ID: 0006_hostile_input
Revises: 0005_fetch_queue
Create Date: 2026-11-30

``target`` is the SHA-256 of the notifier's URL when its endpoint disabled it (410 Gone); a start
whose config gives another URL re-enables the notifier. Rows from before hold ``""`` (unknown: they
stay disabled until ``leakpatrol notifiers enable``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_hostile_input"
down_revision: str | Sequence[str] | None = "0005_fetch_queue"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("lp_notifier_state") as batch:
        batch.add_column(sa.Column("target", sa.String(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("lp_notifier_state") as batch:
        batch.drop_column("target")
