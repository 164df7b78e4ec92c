"""cloud-service register (5.23) and connector approval

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from iam_service.adapters import orm

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_CRITERIA = ("data_location", "encryption_in_transit", "sso_scim", "contract_reviewed")


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=32)


def upgrade() -> None:
    table = op.create_table(
        "system_register",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("system_key", sa.String(length=64), nullable=False),
        sa.Column(
            "source", _enum("entrysource", "connectors_file", "manual"), nullable=False
        ),
        sa.Column(
            "state",
            _enum("approvalstate", "requested", "approved", "rejected", "suspended"),
            nullable=False,
        ),
        sa.Column("information", sa.Text(), nullable=False),
        sa.Column("owner_employee_id", sa.String(length=64), nullable=True),
        sa.Column("vendor_url", sa.String(length=500), nullable=False),
        sa.Column(
            "criteria",
            sa.JSON().with_variant(
                postgresql.JSONB(astext_type=sa.Text()), "postgresql"
            ),
            nullable=False,
        ),
        sa.Column("assessed_by", sa.String(length=200), nullable=True),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("requested_at", orm.UtcDateTime(), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", orm.UtcDateTime(), nullable=True),
        sa.Column("decision_comment", sa.Text(), nullable=False),
        sa.Column("updated_at", orm.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["system_key"],
            ["target_systems.key"],
            name=op.f("fk_system_register_system_key_target_systems"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_system_register")),
        sa.UniqueConstraint("system_key", name=op.f("uq_system_register_system_key")),
    )
    with op.batch_alter_table("system_register", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_system_register_state"), ["state"], unique=False
        )
    _register_existing_systems(table)


def _register_existing_systems(table: sa.Table) -> None:
    """Systems known before the register existed wait for approval like new
    ones (5.23): nothing is approved by a migration."""
    keys = op.get_bind().execute(sa.text("SELECT key FROM target_systems")).scalars()
    now = datetime.now(UTC)
    unchecked = {c: {"result": "unchecked", "note": ""} for c in _CRITERIA}
    rows = [
        {
            "system_key": key,
            "source": "connectors_file",
            "state": "requested",
            "information": "",
            "vendor_url": "",
            "criteria": unchecked,
            "requested_by": "migration",
            "requested_at": now,
            "decision_comment": "",
            "updated_at": now,
        }
        for key in keys
    ]
    if rows:
        op.bulk_insert(table, rows)


def downgrade() -> None:
    with op.batch_alter_table("system_register", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_system_register_state"))
    op.drop_table("system_register")
