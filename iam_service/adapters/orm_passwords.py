"""Password history and self-service attempts: tables and repositories
(never committing). Nothing here is a password in clear (5.17): history rows
are argon2 hashes; attempts record who and whether, never what was typed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    delete,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session

from iam_service.adapters import orm
from iam_service.domain.operations import UNFINISHED, Operation, OperationKind
from iam_service.domain.password_records import (
    PasswordChangeAttempt,
    PasswordHistoryEntry,
)

password_history = Table(
    "password_history",
    orm.metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "person_id",
        Integer,
        ForeignKey("persons.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("system_key", String(64), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("created_at", orm.UtcDateTime, nullable=False),
    Index("ix_password_history_person_system", "person_id", "system_key"),
)

password_change_attempts = Table(
    "password_change_attempts",
    orm.metadata,
    Column("id", Integer, primary_key=True),
    Column("at", orm.UtcDateTime, nullable=False),
    Column("account", String(200), nullable=False),
    Column("client_address", String(64), nullable=False),
    Column("succeeded", Boolean, nullable=False),
    Column("reason", String(32), nullable=False, default=""),
    Index("ix_password_change_attempts_account_at", "account", "at"),
    Index("ix_password_change_attempts_client_at", "client_address", "at"),
)

orm.register(PasswordHistoryEntry, password_history)
orm.register(PasswordChangeAttempt, password_change_attempts)


class PasswordHistoryRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, entry: PasswordHistoryEntry) -> None:
        self.session.add(entry)

    def recent(
        self, person_id: int, system_key: str, limit: int
    ) -> Sequence[PasswordHistoryEntry]:
        """The newest ``limit`` entries, newest first."""
        t = password_history
        query = (
            select(PasswordHistoryEntry)
            .where(t.c.person_id == person_id, t.c.system_key == system_key)
            .order_by(t.c.created_at.desc(), t.c.id.desc())
            .limit(limit)
        )
        return self.session.scalars(query).all()

    def keep_newest(self, person_id: int, system_key: str, keep: int) -> int:
        """Forget all but the newest ``keep`` entries; returns how many went."""
        t = password_history
        newest = [e.id for e in self.recent(person_id, system_key, keep)]
        query = delete(t).where(
            t.c.person_id == person_id,
            t.c.system_key == system_key,
            t.c.id.not_in(newest or [-1]),
        )
        return int(self.session.execute(query).rowcount)  # type: ignore[attr-defined]


class PasswordChangeAttemptRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, attempt: PasswordChangeAttempt) -> None:
        self.session.add(attempt)

    def failures(
        self, *, since: datetime, account: str | None = None, client: str | None = None
    ) -> int:
        """Failed tries since ``since`` for an account or from a client."""
        t = password_change_attempts
        query = select(func.count()).where(t.c.at >= since, t.c.succeeded.is_(False))
        if account is not None:
            query = query.where(t.c.account == account)
        if client is not None:
            query = query.where(t.c.client_address == client)
        return int(self.session.scalar(query) or 0)

    def last_success(self, account: str) -> datetime | None:
        t = password_change_attempts
        query = select(func.max(t.c.at)).where(
            t.c.account == account, t.c.succeeded.is_(True)
        )
        found: datetime | None = self.session.scalar(query)
        return found


def change_operations(
    session: Session, *, ended_since: datetime
) -> Sequence[Operation]:
    """Self-service password changes not finished, or finished since
    ``ended_since``, oldest first."""
    t = orm.operations_table
    query = select(Operation).where(
        t.c.kind == OperationKind.CHANGE_PASSWORD,
        or_(t.c.status.in_(UNFINISHED), t.c.finished_at >= ended_since),
    )
    return session.scalars(query.order_by(t.c.id)).all()
