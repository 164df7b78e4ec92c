"""privileged-account inventory and rotation

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from iam_service.adapters import orm

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=32)


def upgrade() -> None:
    op.create_table(
        "privileged_accounts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("system_key", sa.String(64), nullable=False),
        sa.Column("username", sa.String(256), nullable=False),
        sa.Column("native_id", sa.String(256), nullable=True),
        sa.Column(
            "source", _enum("accountsource", "discovered", "manual"), nullable=False
        ),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("rights", orm.Json, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("possibly_stale", sa.Boolean(), nullable=False),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.Column(
            "owner_kind",
            _enum("ownerkind", "unknown", "person", "service"),
            nullable=False,
        ),
        sa.Column("owner_employee_id", sa.String(64), nullable=True),
        sa.Column("service_name", sa.String(200), nullable=True),
        sa.Column("first_seen_at", orm.UtcDateTime(), nullable=True),
        sa.Column("last_seen_at", orm.UtcDateTime(), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("updated_at", orm.UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privileged_accounts")),
        sa.UniqueConstraint(
            "system_key",
            "username",
            name=op.f("uq_privileged_accounts_system_key_username"),
        ),
    )
    op.create_index(
        op.f("ix_privileged_accounts_owner_employee_id"),
        "privileged_accounts",
        ["owner_employee_id"],
    )
    op.create_table(
        "privileged_custodians",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "account_id",
            sa.Integer(),
            sa.ForeignKey(
                "privileged_accounts.id",
                name=op.f("fk_privileged_custodians_account_id_privileged_accounts"),
            ),
            nullable=False,
        ),
        sa.Column("employee_id", sa.String(64), nullable=False),
        sa.Column("since", orm.UtcDateTime(), nullable=False),
        sa.Column("added_by", sa.String(200), nullable=False),
        sa.Column("ended_at", orm.UtcDateTime(), nullable=True),
        sa.Column("ended_by", sa.String(200), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privileged_custodians")),
    )
    for column in ("account_id", "employee_id"):
        op.create_index(
            op.f(f"ix_privileged_custodians_{column}"),
            "privileged_custodians",
            [column],
        )
    op.create_table(
        "privileged_approvals",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "account_id",
            sa.Integer(),
            sa.ForeignKey(
                "privileged_accounts.id",
                name=op.f("fk_privileged_approvals_account_id_privileged_accounts"),
            ),
            nullable=False,
        ),
        sa.Column("approver", sa.String(200), nullable=False),
        sa.Column("approver_employee_id", sa.String(64), nullable=True),
        sa.Column("approved_at", orm.UtcDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("authorisation", sa.Text(), nullable=False),
        sa.Column("expires_at", orm.UtcDateTime(), nullable=True),
        sa.Column("revoked_at", orm.UtcDateTime(), nullable=True),
        sa.Column("revoked_by", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privileged_approvals")),
    )
    op.create_index(
        op.f("ix_privileged_approvals_account_id"),
        "privileged_approvals",
        ["account_id"],
    )
    op.create_table(
        "privileged_handovers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("outgoing_employee_id", sa.String(64), nullable=True),
        sa.Column(
            "trigger",
            _enum("handovertrigger", "console", "termination", "transfer", "scheduled"),
            nullable=False,
        ),
        sa.Column("started_by", sa.String(200), nullable=False),
        sa.Column("started_at", orm.UtcDateTime(), nullable=False),
        sa.Column("cause", sa.String(200), nullable=False),
        sa.Column("successor_employee_id", sa.String(64), nullable=True),
        sa.Column("successor_named_at", orm.UtcDateTime(), nullable=True),
        sa.Column("status", _enum("handoverstatus", "open", "done"), nullable=False),
        sa.Column("finished_at", orm.UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privileged_handovers")),
    )
    for column in ("outgoing_employee_id", "successor_employee_id"):
        op.create_index(
            op.f(f"ix_privileged_handovers_{column}"),
            "privileged_handovers",
            [column],
        )
    op.create_table(
        "privileged_rotations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "account_id",
            sa.Integer(),
            sa.ForeignKey(
                "privileged_accounts.id",
                name=op.f("fk_privileged_rotations_account_id_privileged_accounts"),
            ),
            nullable=False,
        ),
        sa.Column("kind", _enum("rotationkind", "automatic", "manual"), nullable=False),
        sa.Column("created_at", orm.UtcDateTime(), nullable=False),
        sa.Column(
            "handover_id",
            sa.Integer(),
            sa.ForeignKey(
                "privileged_handovers.id",
                name=op.f("fk_privileged_rotations_handover_id_privileged_handovers"),
            ),
            nullable=True,
        ),
        sa.Column("recipient_employee_id", sa.String(64), nullable=True),
        sa.Column(
            "operation_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.ForeignKey(
                "operations.id",
                name=op.f("fk_privileged_rotations_operation_id_operations"),
            ),
            nullable=True,
        ),
        sa.Column("link_token_hash", sa.String(64), nullable=True),
        sa.Column("link_expires_at", orm.UtcDateTime(), nullable=True),
        sa.Column("shown_at", orm.UtcDateTime(), nullable=True),
        sa.Column("confirmed_at", orm.UtcDateTime(), nullable=True),
        sa.Column("confirmed_by", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privileged_rotations")),
        sa.UniqueConstraint(
            "link_token_hash", name=op.f("uq_privileged_rotations_link_token_hash")
        ),
    )
    for column in ("account_id", "handover_id", "recipient_employee_id"):
        op.create_index(
            op.f(f"ix_privileged_rotations_{column}"),
            "privileged_rotations",
            [column],
        )
    op.create_table(
        "sealed_secrets",
        sa.Column("ref", sa.String(100), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", orm.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("ref", name=op.f("pk_sealed_secrets")),
    )


def downgrade() -> None:
    op.drop_table("sealed_secrets")
    op.drop_table("privileged_rotations")
    op.drop_table("privileged_handovers")
    op.drop_table("privileged_approvals")
    op.drop_table("privileged_custodians")
    op.drop_table("privileged_accounts")
