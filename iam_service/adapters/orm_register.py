"""The cloud-service register's table (5.23): one row per target system.

Kept beside ``target_systems`` rather than in it: ``target_systems`` says
what the connectors file says (how to reach a system), this table says what
the ISMS says (may it be used, who answers for it, what was checked). The
history of decisions is the audit trail (targets ``system:<key>``).
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, String, Table, Text

from iam_service.adapters import orm
from iam_service.domain import register

system_register = Table(
    "system_register",
    orm.metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "system_key",
        String(64),
        ForeignKey("target_systems.key"),
        nullable=False,
        unique=True,
    ),
    Column("source", orm._enum(register.EntrySource), nullable=False),
    Column("state", orm._enum(register.ApprovalState), nullable=False, index=True),
    Column("information", Text, nullable=False, default=""),
    Column("owner_employee_id", String(64)),
    Column("vendor_url", String(500), nullable=False, default=""),
    Column("criteria", orm.Json, nullable=False),
    Column("assessed_by", String(200)),
    Column("requested_by", String(200), nullable=False),
    Column("requested_at", orm.UtcDateTime, nullable=False),
    Column("decided_by", String(200)),
    Column("decided_at", orm.UtcDateTime),
    Column("decision_comment", Text, nullable=False, default=""),
    Column("updated_at", orm.UtcDateTime, nullable=False),
)

orm.register(register.RegisterEntry, system_register)
