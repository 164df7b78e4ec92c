"""console sign-in, sessions, lockout

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from iam_service.adapters import orm

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_ROLES = ("hr", "department_head", "sysadmin", "security_officer", "auditor")


def upgrade() -> None:
    op.create_table(
        "console_sessions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("sso", "local", name="sessionkind", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("employee_id", sa.String(64), nullable=True),
        sa.Column("local_username", sa.String(100), nullable=True),
        sa.Column("active_role", sa.String(32), nullable=True),
        sa.Column("client_address", sa.String(64), nullable=False),
        sa.Column("user_agent", sa.String(300), nullable=False),
        sa.Column("created_at", orm.UtcDateTime(), nullable=False),
        sa.Column("last_seen_at", orm.UtcDateTime(), nullable=False),
        sa.Column("expires_at", orm.UtcDateTime(), nullable=False),
        sa.Column("ended_at", orm.UtcDateTime(), nullable=True),
        sa.Column("end_reason", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_console_sessions_token_hash")),
    )
    op.create_index(
        op.f("ix_console_sessions_employee_id"), "console_sessions", ["employee_id"]
    )
    op.create_table(
        "console_role_assignments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("employee_id", sa.String(64), nullable=False),
        sa.Column(
            "role",
            sa.Enum(*_ROLES, name="role", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("granted_by", sa.String(200), nullable=False),
        sa.Column("granted_by_employee_id", sa.String(64), nullable=True),
        sa.Column("granted_at", orm.UtcDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("revoked_at", orm.UtcDateTime(), nullable=True),
        sa.Column("revoked_by", sa.String(200), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_role_assignments")),
    )
    op.create_index(
        op.f("ix_console_role_assignments_employee_id"),
        "console_role_assignments",
        ["employee_id"],
    )
    op.create_table(
        "console_sign_in_attempts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", orm.UtcDateTime(), nullable=False),
        sa.Column("client_address", sa.String(64), nullable=False),
        sa.Column("account", sa.String(200), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_sign_in_attempts")),
    )
    op.create_index(
        "ix_console_sign_in_attempts_address_at",
        "console_sign_in_attempts",
        ["client_address", "at"],
    )
    op.create_index(
        "ix_console_sign_in_attempts_account_at",
        "console_sign_in_attempts",
        ["account", "at"],
    )
    op.create_table(
        "console_sign_in_flows",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("data_encrypted", sa.Text(), nullable=False),
        sa.Column("created_at", orm.UtcDateTime(), nullable=False),
        sa.Column("expires_at", orm.UtcDateTime(), nullable=False),
        sa.Column("used_at", orm.UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_sign_in_flows")),
        sa.UniqueConstraint(
            "token_hash", name=op.f("uq_console_sign_in_flows_token_hash")
        ),
    )
    op.create_index(
        op.f("ix_console_sign_in_flows_expires_at"),
        "console_sign_in_flows",
        ["expires_at"],
    )
    with op.batch_alter_table("local_users") as batch:
        batch.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("local_users") as batch:
        batch.drop_column("totp_last_step")
    op.drop_table("console_sign_in_flows")
    op.drop_table("console_sign_in_attempts")
    op.drop_table("console_role_assignments")
    op.drop_table("console_sessions")
