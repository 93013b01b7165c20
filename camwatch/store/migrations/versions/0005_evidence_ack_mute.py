"""pictures' times, acknowledgement and mutes

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cameras") as b:
        b.add_column(sa.Column("last_good_at", sa.DateTime(timezone=True), nullable=True))
        b.add_column(sa.Column("latest_snapshot", sa.Text(), nullable=True))
        b.add_column(sa.Column("latest_snapshot_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("incidents") as b:
        b.add_column(sa.Column("acknowledged_by", sa.Text(), nullable=True))
        b.add_column(sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True))
        b.add_column(sa.Column("ack_note", sa.Text(), nullable=True))
        b.add_column(sa.Column("last_good_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "mutes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("camera_id", sa.String(length=64), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("muted_by", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_mutes"),
    )
    op.create_index("ix_mutes_camera", "mutes", ["camera_id", "ends_at"])


def downgrade() -> None:
    op.drop_index("ix_mutes_camera", table_name="mutes")
    op.drop_table("mutes")
    with op.batch_alter_table("incidents") as b:
        for c in ("last_good_at", "ack_note", "acknowledged_at", "acknowledged_by"):
            b.drop_column(c)
    with op.batch_alter_table("cameras") as b:
        for c in ("latest_snapshot_at", "latest_snapshot", "last_good_at"):
            b.drop_column(c)
