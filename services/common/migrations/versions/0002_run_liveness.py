"""run liveness for the reconciler: worker_id, heartbeat_at, dispatched_at

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("runs", sa.Column("worker_id", sa.String(length=128), nullable=True))
    op.add_column("runs", sa.Column("heartbeat_at", TS, nullable=True))
    op.add_column("runs", sa.Column("dispatched_at", TS, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("dispatched_at")
        batch.drop_column("heartbeat_at")
        batch.drop_column("worker_id")
