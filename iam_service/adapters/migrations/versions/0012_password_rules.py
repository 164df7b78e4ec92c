"""password history and one-time secrets

Password history (argon2 hashes only) and self-service change attempts; the
one-time secrets themselves live in ``sealed_secrets`` (0011).

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from iam_service.adapters import orm

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "password_history",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("system_key", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("created_at", orm.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_history")),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_password_history_person_id_persons"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_password_history_person_system",
        "password_history",
        ["person_id", "system_key"],
    )
    op.create_table(
        "password_change_attempts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", orm.UtcDateTime(), nullable=False),
        sa.Column("account", sa.String(200), nullable=False),
        sa.Column("client_address", sa.String(64), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_change_attempts")),
    )
    op.create_index(
        "ix_password_change_attempts_account_at",
        "password_change_attempts",
        ["account", "at"],
    )
    op.create_index(
        "ix_password_change_attempts_client_at",
        "password_change_attempts",
        ["client_address", "at"],
    )


def downgrade() -> None:
    op.drop_table("password_change_attempts")
    op.drop_table("password_history")
