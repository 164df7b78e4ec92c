"""access requests, approvals, SoD exceptions, mover reviews; token owners

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from iam_service.adapters import orm

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=32)


_CLASSIFICATION = ("public", "internal", "strictly_confidential")


def upgrade() -> None:
    op.create_table(
        "access_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("department_code", sa.String(length=64), nullable=False),
        sa.Column("kind", _enum("itemkind", "entitlement", "role"), nullable=False),
        sa.Column("item", sa.String(length=600), nullable=False),
        sa.Column("entitlement_refs", orm.Json, nullable=False),
        sa.Column("justification", sa.Text(), nullable=False),
        sa.Column(
            "classification",
            _enum("classification", *_CLASSIFICATION),
            nullable=False,
        ),
        sa.Column("privileged", sa.Boolean(), nullable=False),
        sa.Column("chain", orm.Json, nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            _enum("requeststatus", "pending", "approved", "rejected", "cancelled"),
            nullable=False,
        ),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("requested_by_employee_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", orm.UtcDateTime(), nullable=False),
        sa.Column("ends_at", orm.UtcDateTime(), nullable=True),
        sa.Column("decided_at", orm.UtcDateTime(), nullable=True),
        sa.Column("outcome_reason", sa.Text(), nullable=False),
        sa.Column("updated_at", orm.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_access_requests_person_id_persons"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_requests")),
    )
    op.create_index(
        op.f("ix_access_requests_person_id"), "access_requests", ["person_id"]
    )
    op.create_index(
        "ix_access_requests_status_department",
        "access_requests",
        ["status", "department_code"],
    )
    op.create_table(
        "access_request_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("approver", sa.String(length=32), nullable=False),
        sa.Column(
            "decision",
            _enum("decision", "approved", "rejected", "applied"),
            nullable=False,
        ),
        sa.Column("decided_by", sa.String(length=200), nullable=False),
        sa.Column("decided_by_employee_id", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", orm.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["access_requests.id"],
            name=op.f("fk_access_request_decisions_request_id_access_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_request_decisions")),
    )
    op.create_index(
        op.f("ix_access_request_decisions_request_id"),
        "access_request_decisions",
        ["request_id"],
    )
    op.create_table(
        "sod_exceptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("rule_id", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("expires_at", orm.UtcDateTime(), nullable=False),
        sa.Column("granted_by", sa.String(length=200), nullable=False),
        sa.Column("granted_at", orm.UtcDateTime(), nullable=False),
        sa.Column("revoked_at", orm.UtcDateTime(), nullable=True),
        sa.Column("revoked_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_sod_exceptions_person_id_persons"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sod_exceptions")),
    )
    op.create_index(
        op.f("ix_sod_exceptions_person_id"), "sod_exceptions", ["person_id"]
    )
    op.create_table(
        "mover_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=False),
        sa.Column("entitlement_ref", sa.String(length=600), nullable=False),
        sa.Column("from_department", sa.String(length=64), nullable=False),
        sa.Column("to_department", sa.String(length=64), nullable=False),
        sa.Column(
            "status",
            _enum("moverreviewstatus", "open", "kept", "removed", "expired", "closed"),
            nullable=False,
        ),
        sa.Column("created_at", orm.UtcDateTime(), nullable=False),
        sa.Column("due_at", orm.UtcDateTime(), nullable=False),
        sa.Column("cause", sa.String(length=200), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", orm.UtcDateTime(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_mover_reviews_person_id_persons"),
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["grants.id"],
            name=op.f("fk_mover_reviews_grant_id_grants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mover_reviews")),
    )
    op.create_index(op.f("ix_mover_reviews_person_id"), "mover_reviews", ["person_id"])
    op.create_index(
        "ix_mover_reviews_status_due_at", "mover_reviews", ["status", "due_at"]
    )
    op.add_column(
        "api_tokens", sa.Column("employee_id", sa.String(length=64), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("employee_id")
    op.drop_index("ix_mover_reviews_status_due_at", table_name="mover_reviews")
    op.drop_index(op.f("ix_mover_reviews_person_id"), table_name="mover_reviews")
    op.drop_table("mover_reviews")
    op.drop_index(op.f("ix_sod_exceptions_person_id"), table_name="sod_exceptions")
    op.drop_table("sod_exceptions")
    op.drop_index(
        op.f("ix_access_request_decisions_request_id"),
        table_name="access_request_decisions",
    )
    op.drop_table("access_request_decisions")
    op.drop_index("ix_access_requests_status_department", table_name="access_requests")
    op.drop_index(op.f("ix_access_requests_person_id"), table_name="access_requests")
    op.drop_table("access_requests")
