"""inbound SCIM: what SCIM knows of a person beyond the HR record

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from iam_service.adapters import orm

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_LIVE = sa.text("deleted_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "scim_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("user_name", sa.String(length=256), nullable=False),
        sa.Column("user_name_key", sa.String(length=256), nullable=False),
        sa.Column("external_id", sa.String(length=256), nullable=True),
        sa.Column("email_type", sa.String(length=32), nullable=True),
        sa.Column("email_primary", sa.Boolean(), nullable=True),
        sa.Column("deleted_at", orm.UtcDateTime(), nullable=True),
        sa.Column("last_request", sa.String(length=128), nullable=True),
        sa.Column("last_version", sa.String(length=64), nullable=True),
        sa.Column("created_at", orm.UtcDateTime(), nullable=True),
        sa.Column("updated_at", orm.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_scim_users_person_id_persons"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scim_users")),
        sa.UniqueConstraint("person_id", name=op.f("uq_scim_users_person_id")),
    )
    op.create_index(
        op.f("ix_scim_users_external_id"), "scim_users", ["external_id"], unique=False
    )
    op.create_index(
        "uq_scim_users_live_user_name",
        "scim_users",
        ["user_name_key"],
        unique=True,
        sqlite_where=_LIVE,
        postgresql_where=_LIVE,
    )


def downgrade() -> None:
    op.drop_index("uq_scim_users_live_user_name", table_name="scim_users")
    op.drop_index(op.f("ix_scim_users_external_id"), table_name="scim_users")
    op.drop_table("scim_users")
