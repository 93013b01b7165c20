"""outbox: the server's refusals of a delivery counted apart from tries; claims name their process

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("refusals", sa.Integer(), nullable=False, server_default="0"))
        batch.alter_column("claimed_by", existing_type=sa.String(length=64), type_=sa.String(length=160),
                           existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.alter_column("claimed_by", existing_type=sa.String(length=160), type_=sa.String(length=64),
                           existing_nullable=True)
        batch.drop_column("refusals")
