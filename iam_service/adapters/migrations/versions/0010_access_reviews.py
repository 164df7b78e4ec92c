"""access review campaigns, reviews, items, delegations; sign-in activity

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from iam_service.adapters import orm

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=32)


def upgrade() -> None:
    op.create_table(
        "review_campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("definition_id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_ja", sa.String(length=200), nullable=True),
        sa.Column("period_key", sa.String(length=200), nullable=False),
        sa.Column("status", _enum("campaignstatus", "open", "closed"), nullable=False),
        sa.Column("started_at", orm.UtcDateTime(), nullable=False),
        sa.Column("started_by", sa.String(length=200), nullable=False),
        sa.Column("due_at", orm.UtcDateTime(), nullable=False),
        sa.Column("closes_at", orm.UtcDateTime(), nullable=False),
        sa.Column("definition", orm.Json, nullable=False),
        sa.Column("catalogue", orm.Json, nullable=False),
        sa.Column("inactive_days", sa.Integer(), nullable=False),
        sa.Column("items_total", sa.Integer(), nullable=False),
        sa.Column("closed_at", orm.UtcDateTime(), nullable=True),
        sa.Column("closed_by", sa.String(length=200), nullable=True),
        sa.Column("items_digest", sa.String(length=64), nullable=True),
        sa.Column("evidence_seq", sa.Integer(), nullable=True),
        sa.Column("evidence_hash", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_campaigns")),
        sa.UniqueConstraint("period_key", name=op.f("uq_review_campaigns_period_key")),
    )
    op.create_index(
        "ix_review_campaigns_status_closes_at",
        "review_campaigns",
        ["status", "closes_at"],
    )
    op.create_table(
        "campaign_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("department_code", sa.String(length=64), nullable=True),
        sa.Column(
            "reviewer_kind",
            _enum(
                "reviewerkind",
                "department_head",
                "manager",
                "security_officer",
                "delegate",
            ),
            nullable=False,
        ),
        sa.Column("reviewer_employee_id", sa.String(length=64), nullable=True),
        sa.Column("delegated_from", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column(
            "status",
            _enum("reviewstatus", "open", "signed_off", "closed"),
            nullable=False,
        ),
        sa.Column("created_at", orm.UtcDateTime(), nullable=False),
        sa.Column("signed_off_at", orm.UtcDateTime(), nullable=True),
        sa.Column("signed_off_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["review_campaigns.id"],
            name=op.f("fk_campaign_reviews_campaign_id_review_campaigns"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_reviews")),
    )
    op.create_index(
        op.f("ix_campaign_reviews_campaign_id"), "campaign_reviews", ["campaign_id"]
    )
    op.create_index(
        op.f("ix_campaign_reviews_reviewer_employee_id"),
        "campaign_reviews",
        ["reviewer_employee_id"],
    )
    op.create_table(
        "review_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("department_code", sa.String(length=64), nullable=False),
        sa.Column("entitlement_ref", sa.String(length=600), nullable=False),
        sa.Column("system_key", sa.String(length=64), nullable=False),
        sa.Column("grant_source", sa.String(length=32), nullable=False),
        sa.Column("grant_source_ref", sa.String(length=200), nullable=True),
        sa.Column("granted_at", orm.UtcDateTime(), nullable=False),
        sa.Column("privileged", sa.Boolean(), nullable=False),
        sa.Column("in_birthright", sa.Boolean(), nullable=False),
        sa.Column("last_sign_in_at", orm.UtcDateTime(), nullable=True),
        sa.Column("sign_in_reported", sa.Boolean(), nullable=False),
        sa.Column("sod", sa.String(length=16), nullable=True),
        sa.Column("sod_rules", sa.String(length=400), nullable=False),
        sa.Column("recommendations", sa.String(length=200), nullable=False),
        sa.Column("decision", _enum("itemdecision", "keep", "revoke"), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_by_employee_id", sa.String(length=64), nullable=True),
        sa.Column("decided_at", orm.UtcDateTime(), nullable=True),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column(
            "apply_state",
            _enum("applystate", "waiting", "queued", "no_change", "already_ended"),
            nullable=True,
        ),
        sa.Column("applied_at", orm.UtcDateTime(), nullable=True),
        sa.Column("operation_id", sa.Integer(), nullable=True),
        sa.Column("apply_note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["campaign_reviews.id"],
            name=op.f("fk_review_items_review_id_campaign_reviews"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_items")),
    )
    op.create_index(
        "ix_review_items_review_id_decision", "review_items", ["review_id", "decision"]
    )
    op.create_index("ix_review_items_campaign_id", "review_items", ["campaign_id"])
    op.create_table(
        "review_delegations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("from_review_id", sa.Integer(), nullable=False),
        sa.Column("to_review_id", sa.Integer(), nullable=False),
        sa.Column("from_employee_id", sa.String(length=64), nullable=True),
        sa.Column("to_employee_id", sa.String(length=64), nullable=False),
        sa.Column("delegated_by", sa.String(length=200), nullable=False),
        sa.Column("at", orm.UtcDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("items_moved", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["review_campaigns.id"],
            name=op.f("fk_review_delegations_campaign_id_review_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["from_review_id"],
            ["campaign_reviews.id"],
            name=op.f("fk_review_delegations_from_review_id_campaign_reviews"),
        ),
        sa.ForeignKeyConstraint(
            ["to_review_id"],
            ["campaign_reviews.id"],
            name=op.f("fk_review_delegations_to_review_id_campaign_reviews"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_delegations")),
    )
    op.create_index(
        op.f("ix_review_delegations_campaign_id"),
        "review_delegations",
        ["campaign_id"],
    )
    op.create_table(
        "sign_in_activity",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("system_key", sa.String(length=64), nullable=False),
        sa.Column("last_sign_in_at", orm.UtcDateTime(), nullable=True),
        sa.Column("observed_at", orm.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_sign_in_activity_account_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_sign_in_activity")),
    )


def downgrade() -> None:
    op.drop_table("sign_in_activity")
    op.drop_index(
        op.f("ix_review_delegations_campaign_id"), table_name="review_delegations"
    )
    op.drop_table("review_delegations")
    op.drop_index("ix_review_items_campaign_id", table_name="review_items")
    op.drop_index("ix_review_items_review_id_decision", table_name="review_items")
    op.drop_table("review_items")
    op.drop_index(
        op.f("ix_campaign_reviews_reviewer_employee_id"),
        table_name="campaign_reviews",
    )
    op.drop_index(
        op.f("ix_campaign_reviews_campaign_id"), table_name="campaign_reviews"
    )
    op.drop_table("campaign_reviews")
    op.drop_index("ix_review_campaigns_status_closes_at", table_name="review_campaigns")
    op.drop_table("review_campaigns")
