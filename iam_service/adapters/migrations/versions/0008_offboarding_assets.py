"""offboarding cases and the asset register

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from iam_service.adapters import orm

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_OPEN = sa.text("status = 'open'")


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=32)


_CONDITION = ("good", "worn", "damaged", "incomplete")


def upgrade() -> None:
    _asset_tables()
    _case_tables()
    _mail_table()


def _asset_tables() -> None:
    op.create_table(
        "assets",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "asset_type",
            _enum(
                "assettype",
                "laptop",
                "desktop",
                "phone",
                "security_card",
                "storage_media",
                "token",
                "other",
            ),
            nullable=False,
        ),
        sa.Column("tag", sa.String(64), nullable=False),
        sa.Column("serial", sa.String(128)),
        sa.Column("card_number", sa.String(32)),
        sa.Column("description", sa.String(200), nullable=False),
        sa.Column(
            "state",
            _enum("assetstate", "in_use", "spare", "returned", "lost", "disposed"),
            nullable=False,
        ),
        sa.Column("holder_id", sa.Integer(), sa.ForeignKey("persons.id")),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("registered_at", orm.UtcDateTime(), nullable=False),
        sa.Column("registered_by", sa.String(200), nullable=False),
        sa.Column("updated_at", orm.UtcDateTime(), nullable=False),
        sa.UniqueConstraint("tag"),
        sa.UniqueConstraint("serial"),
        sa.UniqueConstraint("card_number"),
    )
    op.create_index("ix_assets_holder_id", "assets", ["holder_id"])
    op.create_index("ix_assets_type_state", "assets", ["asset_type", "state"])
    op.create_table(
        "asset_assignments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("asset_id", sa.Integer(), sa.ForeignKey("assets.id"), nullable=False),
        sa.Column(
            "person_id", sa.Integer(), sa.ForeignKey("persons.id"), nullable=False
        ),
        sa.Column("assigned_at", orm.UtcDateTime(), nullable=False),
        sa.Column("assigned_by", sa.String(200), nullable=False),
        sa.Column("ended_at", orm.UtcDateTime()),
        sa.Column("ended_by", sa.String(200)),
        sa.Column(
            "outcome",
            _enum("assignmentend", "returned", "lost", "written_off", "reassigned"),
        ),
        sa.Column("condition", _enum("assetcondition", *_CONDITION)),
        sa.Column("received_by", sa.String(200)),
        sa.Column("note", sa.Text(), nullable=False),
    )
    op.create_index("ix_asset_assignments_asset_id", "asset_assignments", ["asset_id"])
    op.create_index(
        "ix_asset_assignments_person_id", "asset_assignments", ["person_id"]
    )
    op.create_table(
        "spare_card_checks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("opened_at", orm.UtcDateTime(), nullable=False),
        sa.Column("expected", _JSON, nullable=False),
        sa.Column("status", _enum("checkstatus", "open", "completed"), nullable=False),
        sa.Column("present", _JSON),
        sa.Column("missing", _JSON),
        sa.Column("completed_at", orm.UtcDateTime()),
        sa.Column("completed_by", sa.String(200)),
        sa.Column("note", sa.Text(), nullable=False),
    )
    op.create_index(
        "ix_spare_card_checks_opened_at", "spare_card_checks", ["opened_at"]
    )


def _case_tables() -> None:
    op.create_table(
        "offboarding_cases",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "person_id", sa.Integer(), sa.ForeignKey("persons.id"), nullable=False
        ),
        sa.Column("employee_id", sa.String(64), nullable=False),
        sa.Column("person_name", sa.String(201), nullable=False),
        sa.Column("department_code", sa.String(64), nullable=False),
        sa.Column("manager_employee_id", sa.String(64)),
        sa.Column("cause", sa.String(200), nullable=False),
        sa.Column("terminated_at", orm.UtcDateTime(), nullable=False),
        sa.Column("opened_at", orm.UtcDateTime(), nullable=False),
        sa.Column("opened_by", sa.String(200), nullable=False),
        sa.Column(
            "status",
            _enum("casestatus", "open", "closed", "cancelled"),
            nullable=False,
        ),
        sa.Column("all_disabled_at", orm.UtcDateTime()),
        sa.Column("closed_at", orm.UtcDateTime()),
        sa.Column("closed_by", sa.String(200)),
        sa.Column("close_note", sa.Text(), nullable=False),
        sa.Column("deletion_due_at", orm.UtcDateTime()),
        sa.Column("deletion_queued_at", orm.UtcDateTime()),
        sa.Column("accounts_deleted_at", orm.UtcDateTime()),
        sa.Column("deletion_held_at", orm.UtcDateTime()),
        sa.Column("cancelled_at", orm.UtcDateTime()),
        sa.Column("cancel_reason", sa.Text(), nullable=False),
        sa.UniqueConstraint("cause"),
    )
    for column in ("person_id", "department_code", "status"):
        op.create_index(f"ix_offboarding_cases_{column}", "offboarding_cases", [column])
    op.create_index(
        "uq_offboarding_cases_open_person",
        "offboarding_cases",
        ["person_id"],
        unique=True,
        postgresql_where=_OPEN,
        sqlite_where=_OPEN,
    )
    _items_table()
    op.create_table(
        "offboarding_escalations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "case_id",
            sa.Integer(),
            sa.ForeignKey("offboarding_cases.id"),
            nullable=False,
        ),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("at", orm.UtcDateTime(), nullable=False),
        sa.Column("recipients", _JSON, nullable=False),
        sa.Column("outstanding", _JSON, nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("mail_key", sa.String(300)),
        sa.UniqueConstraint("case_id", "level"),
    )


def _items_table() -> None:
    op.create_table(
        "offboarding_items",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "case_id",
            sa.Integer(),
            sa.ForeignKey("offboarding_cases.id"),
            nullable=False,
        ),
        sa.Column(
            "kind",
            _enum(
                "itemkind",
                "asset_return",
                "card_deactivation",
                "custodian_handover",
                "data_handover",
            ),
            nullable=False,
        ),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("asset_id", sa.Integer(), sa.ForeignKey("assets.id")),
        sa.Column("system_key", sa.String(64)),
        sa.Column("reference", sa.String(300)),
        sa.Column(
            "status",
            _enum(
                "itemstatus",
                "open",
                "write_off_requested",
                "done",
                "written_off",
                "waived",
                "cancelled",
            ),
            nullable=False,
        ),
        sa.Column(
            "resolution",
            _enum(
                "resolution",
                "returned",
                "lost",
                "written_off",
                "deactivated",
                "handed_over",
                "moved_to_manager",
                "archived",
                "waived",
                "cancelled",
            ),
        ),
        sa.Column("write_off_kind", _enum("writeoffkind", "lost", "written_off")),
        sa.Column("condition", _enum("assetcondition", *_CONDITION)),
        sa.Column("received_by", sa.String(200)),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(200)),
        sa.Column("requested_by_employee_id", sa.String(64)),
        sa.Column("requested_at", orm.UtcDateTime()),
        sa.Column("decided_by", sa.String(200)),
        sa.Column("decided_at", orm.UtcDateTime()),
        sa.Column("done_by", sa.String(200)),
        sa.Column("done_at", orm.UtcDateTime()),
    )
    op.create_index("ix_offboarding_items_case_id", "offboarding_items", ["case_id"])
    op.create_index("ix_offboarding_items_asset_id", "offboarding_items", ["asset_id"])


def _mail_table() -> None:
    op.create_table(
        "mail_outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("template", sa.String(100), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("recipients", _JSON, nullable=False),
        sa.Column("subject", sa.String(500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("headers", _JSON, nullable=False),
        sa.Column("subject_ref", sa.String(300), nullable=False),
        sa.Column(
            "status", _enum("mailstatus", "pending", "sent", "failed"), nullable=False
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", orm.UtcDateTime()),
        sa.Column("last_error", sa.Text()),
        sa.Column("created_at", orm.UtcDateTime(), nullable=False),
        sa.Column("sent_at", orm.UtcDateTime()),
        sa.UniqueConstraint("key"),
    )
    op.create_index(
        "ix_mail_outbox_status_next_attempt_at",
        "mail_outbox",
        ["status", "next_attempt_at"],
    )


def downgrade() -> None:
    for table in (
        "mail_outbox",
        "offboarding_escalations",
        "offboarding_items",
        "offboarding_cases",
        "spare_card_checks",
        "asset_assignments",
        "assets",
    ):
        op.drop_table(table)
