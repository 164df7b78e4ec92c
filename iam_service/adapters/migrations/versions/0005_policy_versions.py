"""policy versions, plans and approvals (8.32)

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from iam_service.adapters import orm

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_ACTIVE = sa.text("state = 'active'")


def upgrade() -> None:
    op.create_table(
        "policy_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("files", orm.Json, nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "proposed",
                "active",
                "superseded",
                "rejected",
                name="versionstate",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("diff", orm.Json, nullable=False),
        sa.Column("needs_security_officer", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("proposed_by", sa.String(length=200), nullable=False),
        sa.Column("proposed_at", orm.UtcDateTime(), nullable=False),
        sa.Column("approved_by", sa.String(length=200), nullable=True),
        sa.Column("approver_role", sa.String(length=32), nullable=True),
        sa.Column("approved_at", orm.UtcDateTime(), nullable=True),
        sa.Column("activated_at", orm.UtcDateTime(), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_versions")),
    )
    op.create_index(
        op.f("ix_policy_versions_content_hash"),
        "policy_versions",
        ["content_hash"],
        unique=False,
    )
    op.create_index(
        "uq_policy_versions_one_active",
        "policy_versions",
        ["state"],
        unique=True,
        sqlite_where=_ACTIVE,
        postgresql_where=_ACTIVE,
    )


def downgrade() -> None:
    op.drop_index("uq_policy_versions_one_active", table_name="policy_versions")
    op.drop_index(op.f("ix_policy_versions_content_hash"), table_name="policy_versions")
    op.drop_table("policy_versions")
