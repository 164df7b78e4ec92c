"""Tables, and the imperative mapping of domain classes onto them.

The domain stays free of SQLAlchemy (cosmicpython's pattern): this module is
the only place that knows both. Alembic migrations are written against
``metadata``.
"""

from __future__ import annotations

import enum
import importlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy import DateTime as _DateTime
from sqlalchemy import Enum as _Enum
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import registry
from sqlalchemy.types import TypeDecorator

from iam_service.domain import model, operations, records, security
from iam_service.domain.audit import AuditRecord


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite forgets the zone)."""

    impl = _DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(
        self, value: datetime | None, dialect: Dialect
    ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused; the service stores UTC (8.17)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: datetime | None, _dialect: Dialect
    ) -> datetime | None:
        if value is None:
            return None
        return (
            value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        )


def _enum(cls: type[enum.Enum]) -> _Enum:
    return _Enum(
        cls,
        native_enum=False,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


Json = JSON().with_variant(JSONB(), "postgresql")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

departments = Table(
    "departments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("head_employee_id", String(64)),
    Column("known_to_policy", Boolean, nullable=False, default=True),
)

persons = Table(
    "persons",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("employee_id", String(64), nullable=False, unique=True),
    Column("given_name", String(100), nullable=False),
    Column("family_name", String(100), nullable=False),
    Column("email", String(254), nullable=False, unique=True),
    Column("department_code", String(64), nullable=False, index=True),
    Column("title", String(128), nullable=False),
    Column("employment_type", _enum(model.EmploymentType), nullable=False),
    Column("manager_employee_id", String(64)),
    Column("status", _enum(model.PersonStatus), nullable=False, index=True),
    Column("start_date", Date),
    Column("end_date", Date),
    Column("last_event_at", UtcDateTime),
    Column("flags", Json, nullable=False, default=list),
    Column("created_at", UtcDateTime),
    Column("updated_at", UtcDateTime),
)

target_systems = Table(
    "target_systems",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(64), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),
    Column("name", String(200), nullable=False),
    Column("classification", _enum(model.Classification), nullable=False),
    Column("purpose", Text, nullable=False, default=""),
    Column("owner", String(200), nullable=False, default=""),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("person_id", ForeignKey("persons.id"), nullable=False, index=True),
    Column("system_key", String(64), nullable=False),
    Column("username", String(256), nullable=False),
    Column("native_id", String(256)),
    Column("status", _enum(model.AccountStatus), nullable=False),
    Column("desired_enabled", Boolean, nullable=False),
    Column("verified_at", UtcDateTime),
    Column("created_at", UtcDateTime),
    UniqueConstraint("system_key", "username"),
    UniqueConstraint("person_id", "system_key"),
)

entitlements = Table(
    "entitlements",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("system_key", String(64), nullable=False),
    Column("key", String(512), nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("privileged", Boolean, nullable=False, default=False),
    Column("classification", _enum(model.Classification), nullable=False),
    UniqueConstraint("system_key", "key"),
)

grants = Table(
    "grants",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("person_id", ForeignKey("persons.id"), nullable=False),
    Column("entitlement_ref", String(600), nullable=False),
    Column("source", _enum(model.GrantSource), nullable=False),
    Column("granted_at", UtcDateTime, nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("source_ref", String(200)),
    Column("expires_at", UtcDateTime),
    Column("status", _enum(model.GrantStatus), nullable=False),
    Column("removed_at", UtcDateTime),
    Index("ix_grants_person_status", "person_id", "status"),
)

hr_events = Table(
    "hr_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("event_id", String(128), nullable=False, unique=True),
    Column("type", String(16), nullable=False),
    Column("employee_id", String(64), nullable=False, index=True),
    Column("received_at", UtcDateTime, nullable=False),
    Column("effective_at", UtcDateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("payload", Json, nullable=False),
    Column("result", Json, nullable=False),
    Column("source", String(16), nullable=False),
)

_unfinished = text("status IN ('pending', 'running')")
operations_table = Table(
    "operations",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("idempotency_key", String(300), nullable=False, unique=True),
    Column("system_key", String(64), nullable=False),
    Column("account_key", String(300), nullable=False),
    Column("kind", _enum(operations.OperationKind), nullable=False),
    Column("payload", Json, nullable=False),
    Column("priority", Integer, nullable=False),
    Column("account_id", ForeignKey("accounts.id")),
    Column("person_id", ForeignKey("persons.id")),
    Column("status", _enum(operations.OperationStatus), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("max_attempts", Integer, nullable=False),
    Column("not_before", UtcDateTime),
    Column("next_attempt_at", UtcDateTime),
    Column("lease_expires_at", UtcDateTime),
    Column("locked_by", String(200)),
    Column("last_error", Text),
    Column("result", Json, nullable=False),
    Column("cause", String(200)),
    Column("created_at", UtcDateTime),
    Column("updated_at", UtcDateTime),
    Column("finished_at", UtcDateTime),
    Index("ix_operations_claim", "status", "priority", "id"),
    Index(
        "ix_operations_account_unfinished",
        "account_key",
        "id",
        postgresql_where=_unfinished,
        sqlite_where=_unfinished,
    ),
    Index("ix_operations_person", "person_id"),
)

audit_records = Table(
    "audit_records",
    metadata,
    Column(
        "seq",
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("at", UtcDateTime, nullable=False, index=True),
    Column("actor", String(200), nullable=False),
    Column("action", String(100), nullable=False, index=True),
    Column("target", String(300), nullable=False, index=True),
    Column("before", Json),
    Column("after", Json),
    Column("reason", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
)

audit_anchor = Table(
    "audit_anchor",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("pruned_at", UtcDateTime, nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("role", _enum(security.Role), nullable=False),
    Column("prefix", String(16), nullable=False, unique=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("expires_at", UtcDateTime),
    Column("revoked_at", UtcDateTime),
    Column("last_used_at", UtcDateTime),
    Column("employee_id", String(64)),  # the person behind it, if any (5.3)
)

local_users = Table(
    "local_users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(100), nullable=False, unique=True),
    Column("password_hash", String(300), nullable=False),
    Column("roles", Json, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("employee_id", String(64)),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("failed_logins", Integer, nullable=False, default=0),
    Column("locked_until", UtcDateTime),
    Column("totp_secret_encrypted", Text),
    Column("totp_last_step", BigInteger),  # TOTP replay protection (0009)
)

notices = Table(
    "notices",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(64), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("detail", Text, nullable=False),
    Column("audience", String(32), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime),
    Column("resolved_by", String(200)),
)

job_runs = Table(
    "job_runs",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("last_started_at", UtcDateTime),
    Column("last_finished_at", UtcDateTime),
    Column("last_status", String(32)),
    Column("last_detail", Text),
)

mapper_registry = registry(metadata=metadata)
_MAPPED: list[tuple[type[Any], Table]] = [
    (model.Department, departments),
    (model.Person, persons),
    (model.TargetSystem, target_systems),
    (model.Account, accounts),
    (model.Entitlement, entitlements),
    (model.Grant, grants),
    (records.HrEventRecord, hr_events),
    (records.Notice, notices),
    (operations.Operation, operations_table),
    (AuditRecord, audit_records),
    (security.ApiToken, api_tokens),
    (security.LocalUser, local_users),
]


# Each feature area keeps its tables in a module of its own
# (``iam_service/adapters/orm_<area>.py``) that defines them on ``metadata``
# and calls ``register``; listing the module here makes the tables known to
# the mappers and to Alembic.
AREA_MODULES: tuple[str, ...] = (
    "orm_register",
    "orm_scim",
    "orm_connector_state",
    "orm_policy",
    "orm_access",
    "orm_reviews",
    "orm_assets",
    "orm_offboarding",
    "orm_mail",
    "orm_console",
    "orm_passwords",
    "orm_elevation",
    "orm_reconcile",
    "orm_privileged",
)


def register(cls: type[Any], table: Table) -> None:
    """Map ``cls`` onto ``table`` when the mappers start."""
    if (cls, table) not in _MAPPED:
        _MAPPED.append((cls, table))


def load_areas() -> None:
    for name in AREA_MODULES:
        importlib.import_module(f"iam_service.adapters.{name}")


def start_mappers() -> None:
    """Map the domain classes; safe to call more than once."""
    load_areas()
    for cls, table in _MAPPED:
        if not hasattr(cls, "__mapper__"):
            mapper_registry.map_imperatively(cls, table)
