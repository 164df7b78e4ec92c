"""Console sessions, console role assignments, sign-in attempts and sign-in
flows under way: the tables and the repositories over them (never
committing). Migration ``0009_console_sessions``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    Boolean,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.orm import Session

from iam_service.adapters import orm
from iam_service.domain.console import (
    ConsoleSession,
    EndReason,
    RoleAssignment,
    SessionKind,
    SignInAttempt,
    SignInFlow,
)
from iam_service.domain.security import Role

console_sessions = Table(
    "console_sessions",
    orm.metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("kind", orm._enum(SessionKind), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("display_name", String(200), nullable=False),
    Column("employee_id", String(64), index=True),
    Column("local_username", String(100)),
    Column("active_role", String(32)),
    Column("client_address", String(64), nullable=False, default=""),
    Column("user_agent", String(300), nullable=False, default=""),
    Column("created_at", orm.UtcDateTime, nullable=False),
    Column("last_seen_at", orm.UtcDateTime, nullable=False),
    Column("expires_at", orm.UtcDateTime, nullable=False),
    Column("ended_at", orm.UtcDateTime),
    Column("end_reason", String(32)),
)

console_role_assignments = Table(
    "console_role_assignments",
    orm.metadata,
    Column("id", Integer, primary_key=True),
    Column("employee_id", String(64), nullable=False, index=True),
    Column("role", orm._enum(Role), nullable=False),
    Column("granted_by", String(200), nullable=False),
    Column("granted_by_employee_id", String(64)),
    Column("granted_at", orm.UtcDateTime, nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("revoked_at", orm.UtcDateTime),
    Column("revoked_by", String(200)),
    Column("revoke_reason", Text, nullable=False, default=""),
)

console_sign_in_attempts = Table(
    "console_sign_in_attempts",
    orm.metadata,
    Column("id", Integer, primary_key=True),
    Column("at", orm.UtcDateTime, nullable=False),
    Column("client_address", String(64), nullable=False),
    Column("account", String(200), nullable=False),
    Column("succeeded", Boolean, nullable=False),
    Column("reason", String(64), nullable=False, default=""),
    Index("ix_console_sign_in_attempts_address_at", "client_address", "at"),
    Index("ix_console_sign_in_attempts_account_at", "account", "at"),
)

console_sign_in_flows = Table(
    "console_sign_in_flows",
    orm.metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),
    Column("data_encrypted", Text, nullable=False),
    Column("created_at", orm.UtcDateTime, nullable=False),
    Column("expires_at", orm.UtcDateTime, nullable=False, index=True),
    Column("used_at", orm.UtcDateTime),
)

orm.register(ConsoleSession, console_sessions)
orm.register(RoleAssignment, console_role_assignments)
orm.register(SignInAttempt, console_sign_in_attempts)
orm.register(SignInFlow, console_sign_in_flows)


class ConsoleSessionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, console_session: ConsoleSession) -> None:
        self.session.add(console_session)

    def by_token_hash(self, token_hash: str) -> ConsoleSession | None:
        query = select(ConsoleSession).where(
            console_sessions.c.token_hash == token_hash
        )
        return self.session.scalars(query).one_or_none()

    def live_for_employee(self, employee_id: str) -> Sequence[ConsoleSession]:
        t = console_sessions
        query = select(ConsoleSession).where(
            t.c.employee_id == employee_id, t.c.ended_at.is_(None)
        )
        return self.session.scalars(query.order_by(t.c.id)).all()

    def end_for_employee(
        self, employee_id: str, now: datetime, reason: EndReason
    ) -> int:
        """End every live session of a person in one statement; the count."""
        t = console_sessions
        result = self.session.execute(
            update(t)
            .where(t.c.employee_id == employee_id, t.c.ended_at.is_(None))
            .values(ended_at=now, end_reason=reason.value)
            .execution_options(synchronize_session="fetch")
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def end_for_local_user(
        self, username: str, now: datetime, reason: EndReason
    ) -> int:
        t = console_sessions
        result = self.session.execute(
            update(t)
            .where(t.c.local_username == username, t.c.ended_at.is_(None))
            .values(ended_at=now, end_reason=reason.value)
            .execution_options(synchronize_session="fetch")
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


class RoleAssignmentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, assignment: RoleAssignment) -> None:
        self.session.add(assignment)

    def get(self, assignment_id: int) -> RoleAssignment | None:
        return self.session.get(RoleAssignment, assignment_id)

    def active_for(self, employee_id: str) -> Sequence[RoleAssignment]:
        t = console_role_assignments
        query = select(RoleAssignment).where(
            t.c.employee_id == employee_id, t.c.revoked_at.is_(None)
        )
        return self.session.scalars(query.order_by(t.c.id)).all()

    def active(self, role: Role | None = None) -> Sequence[RoleAssignment]:
        t = console_role_assignments
        query = select(RoleAssignment).where(t.c.revoked_at.is_(None))
        if role is not None:
            query = query.where(t.c.role == role)
        return self.session.scalars(query.order_by(t.c.employee_id, t.c.role)).all()


class SignInAttemptRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, attempt: SignInAttempt) -> None:
        self.session.add(attempt)

    def failures_from(self, client_address: str, since: datetime) -> int:
        t = console_sign_in_attempts
        query = select(func.count()).where(
            t.c.client_address == client_address,
            t.c.at >= since,
            t.c.succeeded.is_(False),
        )
        return int(self.session.scalar(query) or 0)

    def prune(self, before: datetime) -> int:
        t = console_sign_in_attempts
        result = self.session.execute(delete(t).where(t.c.at < before))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


class SignInFlowRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, flow: SignInFlow) -> None:
        self.session.add(flow)

    def by_token_hash(self, token_hash: str) -> SignInFlow | None:
        query = select(SignInFlow).where(
            console_sign_in_flows.c.token_hash == token_hash
        )
        return self.session.scalars(query).one_or_none()

    def prune(self, now: datetime) -> int:
        t = console_sign_in_flows
        result = self.session.execute(delete(t).where(t.c.expires_at < now))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
