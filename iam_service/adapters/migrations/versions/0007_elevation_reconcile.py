"""privileged elevation, break-glass use, reconciliation results

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from iam_service.adapters import orm

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=32)


_STATUS = ("pending", "active", "rejected", "ended", "expired")
_FINDINGS = ("unexpected", "missing", "orphan", "unlinked", "terminated_enabled")
_ACTIONS = (
    "reported",
    "would_remove",
    "would_add",
    "removal_queued",
    "addition_queued",
)


def upgrade() -> None:
    _elevations()
    _reconcile()


def _elevations() -> None:
    op.create_table(
        "elevations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("entitlement_ref", sa.String(length=600), nullable=False),
        sa.Column(
            "kind", _enum("elevationkind", "request", "break_glass"), nullable=False
        ),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("requested_by_employee_id", sa.String(length=64), nullable=True),
        sa.Column("requested_at", orm.UtcDateTime(), nullable=False),
        sa.Column("status", _enum("elevationstatus", *_STATUS), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_by_employee_id", sa.String(length=64), nullable=True),
        sa.Column("decided_at", orm.UtcDateTime(), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=False),
        sa.Column("starts_at", orm.UtcDateTime(), nullable=True),
        sa.Column("expires_at", orm.UtcDateTime(), nullable=True),
        sa.Column("grant_id", sa.Integer(), nullable=True),
        sa.Column("ended_at", orm.UtcDateTime(), nullable=True),
        sa.Column("ended_by", sa.String(length=200), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=False),
        sa.Column(
            "ratification",
            _enum("ratification", "pending", "ratified", "refused"),
            nullable=True,
        ),
        sa.Column("ratified_by", sa.String(length=200), nullable=True),
        sa.Column("ratified_at", orm.UtcDateTime(), nullable=True),
        sa.Column("ratification_reason", sa.Text(), nullable=False),
        sa.Column("escalations", sa.Integer(), nullable=False),
        sa.Column("last_escalated_at", orm.UtcDateTime(), nullable=True),
        sa.Column("updated_at", orm.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_elevations_person_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"], ["grants.id"], name=op.f("fk_elevations_grant_id_grants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_elevations")),
    )
    op.create_index(op.f("ix_elevations_person_id"), "elevations", ["person_id"])
    op.create_index(
        "ix_elevations_status_expires_at", "elevations", ["status", "expires_at"]
    )
    op.create_index("ix_elevations_ratification", "elevations", ["ratification"])


def _reconcile() -> None:
    op.create_table(
        "reconcile_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("system_key", sa.String(length=64), nullable=False),
        sa.Column("started_at", orm.UtcDateTime(), nullable=False),
        sa.Column("finished_at", orm.UtcDateTime(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("apply", sa.Boolean(), nullable=False),
        sa.Column(
            "status",
            _enum("runstatus", "running", "succeeded", "failed"),
            nullable=False,
        ),
        sa.Column("counts", orm.Json, nullable=False),
        sa.Column("error", sa.String(length=2000), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconcile_runs")),
    )
    op.create_index(
        "ix_reconcile_runs_system_key_started_at",
        "reconcile_runs",
        ["system_key", "started_at"],
    )
    op.create_table(
        "reconcile_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("kind", _enum("findingkind", *_FINDINGS), nullable=False),
        sa.Column("action", _enum("findingaction", *_ACTIONS), nullable=False),
        sa.Column("username", sa.String(length=256), nullable=False),
        sa.Column("native_id", sa.String(length=256), nullable=False),
        sa.Column("employee_id", sa.String(length=64), nullable=True),
        sa.Column("entitlement_ref", sa.String(length=600), nullable=True),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("operation_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["reconcile_runs.id"],
            name=op.f("fk_reconcile_items_run_id_reconcile_runs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconcile_items")),
    )
    op.create_index(
        "ix_reconcile_items_run_id_kind", "reconcile_items", ["run_id", "kind"]
    )


def downgrade() -> None:
    op.drop_table("reconcile_items")
    op.drop_table("reconcile_runs")
    op.drop_table("elevations")
