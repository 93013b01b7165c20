"""ONVIF facts on cameras, and device change events

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cameras") as batch:
        batch.add_column(sa.Column("manufacturer", sa.Text(), nullable=True))
        batch.add_column(sa.Column("serial", sa.Text(), nullable=True))
        batch.add_column(sa.Column("hardware_id", sa.Text(), nullable=True))
        batch.add_column(sa.Column("clock_offset_s", sa.Float(), nullable=True))
        batch.add_column(sa.Column("clock_ntp", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("onvif_checked_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("onvif_error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("stream_uri", sa.Text(), nullable=True))
    op.create_table(
        "device_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("camera_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("old", sa.Text(), nullable=True),
        sa.Column("new", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["camera_id"], ["cameras.id"], name="fk_device_events_camera_id_cameras"),
        sa.PrimaryKeyConstraint("id", name="pk_device_events"),
    )


def downgrade() -> None:
    op.drop_table("device_events")
    with op.batch_alter_table("cameras") as batch:
        for col in ("stream_uri", "onvif_error", "onvif_checked_at", "clock_ntp", "clock_offset_s", "hardware_id",
                    "serial", "manufacturer"):
            batch.drop_column(col)
