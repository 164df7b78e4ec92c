"""Repositories: collections of domain objects over one SQLAlchemy session.

Repositories add, find and query; they never commit. The unit of work owns
the transaction (``iam_service.services.unit_of_work``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from iam_service.adapters import orm, row_lock
from iam_service.domain.audit import AuditRecord
from iam_service.domain.model import (
    Account,
    Department,
    Entitlement,
    Grant,
    GrantStatus,
    Person,
    TargetSystem,
)
from iam_service.domain.operations import UNFINISHED, Operation, OperationStatus
from iam_service.domain.records import HrEventRecord, Notice
from iam_service.domain.security import ApiToken, LocalUser


class _Repository:
    def __init__(self, session: Session) -> None:
        self.session = session


class PersonRepository(_Repository):
    def add(self, person: Person) -> None:
        self.session.add(person)

    def get(self, person_id: int) -> Person | None:
        return self.session.get(Person, person_id)

    def by_employee_id(self, employee_id: str, *, lock: bool = False) -> Person | None:
        """``lock`` holds the row (PostgreSQL) so that concurrent events for one
        person apply one after the other."""
        query = select(Person).where(orm.persons.c.employee_id == employee_id)
        return row_lock.one_or_none(self.session, query, lock=lock)

    def by_email(self, email: str) -> Person | None:
        query = select(Person).where(orm.persons.c.email == email.lower())
        return self.session.scalars(query).one_or_none()

    def all(self) -> Sequence[Person]:
        return self.session.scalars(select(Person).order_by(orm.persons.c.id)).all()

    def in_department(self, code: str) -> Sequence[Person]:
        query = select(Person).where(orm.persons.c.department_code == code)
        return self.session.scalars(query.order_by(orm.persons.c.id)).all()


class DepartmentRepository(_Repository):
    def add(self, department: Department) -> None:
        self.session.add(department)

    def get(self, code: str) -> Department | None:
        query = select(Department).where(orm.departments.c.code == code)
        return self.session.scalars(query).one_or_none()

    def all(self) -> Sequence[Department]:
        return self.session.scalars(
            select(Department).order_by(orm.departments.c.code)
        ).all()

    def headed_by(self, employee_id: str) -> list[str]:
        """The codes of the departments whose head is ``employee_id``."""
        t = orm.departments
        query = select(t.c.code).where(t.c.head_employee_id == employee_id)
        return [str(code) for code in self.session.scalars(query)]


class SystemRepository(_Repository):
    def add(self, system: TargetSystem) -> None:
        self.session.add(system)

    def get(self, key: str) -> TargetSystem | None:
        query = select(TargetSystem).where(orm.target_systems.c.key == key)
        return self.session.scalars(query).one_or_none()

    def all(self) -> Sequence[TargetSystem]:
        query = select(TargetSystem).order_by(orm.target_systems.c.key)
        return self.session.scalars(query).all()


class AccountRepository(_Repository):
    def add(self, account: Account) -> None:
        self.session.add(account)

    def get(self, account_id: int) -> Account | None:
        return self.session.get(Account, account_id)

    def for_person(self, person_id: int) -> Sequence[Account]:
        query = select(Account).where(orm.accounts.c.person_id == person_id)
        return self.session.scalars(query.order_by(orm.accounts.c.system_key)).all()

    def username_taken(self, system_key: str, username: str) -> bool:
        query = select(func.count()).where(
            orm.accounts.c.system_key == system_key, orm.accounts.c.username == username
        )
        return bool(self.session.scalar(query))

    def by_native_id(self, system_key: str, native_id: str) -> Account | None:
        """The account a system knows by ``native_id`` (an Entra object id)."""
        query = select(Account).where(
            orm.accounts.c.system_key == system_key,
            orm.accounts.c.native_id == native_id,
        )
        return self.session.scalars(query.limit(1)).one_or_none()

    def in_system(self, system_key: str) -> Sequence[Account]:
        query = select(Account).where(orm.accounts.c.system_key == system_key)
        return self.session.scalars(query).all()


class EntitlementRepository(_Repository):
    def add(self, entitlement: Entitlement) -> None:
        self.session.add(entitlement)

    def get(self, system_key: str, key: str) -> Entitlement | None:
        query = select(Entitlement).where(
            orm.entitlements.c.system_key == system_key, orm.entitlements.c.key == key
        )
        return self.session.scalars(query).one_or_none()

    def all(self) -> Sequence[Entitlement]:
        return self.session.scalars(select(Entitlement)).all()


class GrantRepository(_Repository):
    def add(self, grant: Grant) -> None:
        self.session.add(grant)

    def get(self, grant_id: int) -> Grant | None:
        return self.session.get(Grant, grant_id)

    def active_for_person(self, person_id: int) -> Sequence[Grant]:
        query = select(Grant).where(
            orm.grants.c.person_id == person_id,
            orm.grants.c.status == GrantStatus.ACTIVE,
        )
        return self.session.scalars(query.order_by(orm.grants.c.id)).all()

    def active(self) -> Sequence[Grant]:
        query = select(Grant).where(orm.grants.c.status == GrantStatus.ACTIVE)
        return self.session.scalars(query.order_by(orm.grants.c.id)).all()

    def expired(self, now: datetime, limit: int = 500) -> Sequence[Grant]:
        """Active grants whose end has passed, oldest end first (the expiry
        job's work)."""
        g = orm.grants
        query = select(Grant).where(
            g.c.status == GrantStatus.ACTIVE, g.c.expires_at <= now
        )
        query = query.order_by(g.c.expires_at, g.c.id).limit(limit)
        return self.session.scalars(query).all()


class HrEventRepository(_Repository):
    def add(self, record: HrEventRecord) -> None:
        self.session.add(record)

    def get(self, event_id: str) -> HrEventRecord | None:
        query = select(HrEventRecord).where(orm.hr_events.c.event_id == event_id)
        return self.session.scalars(query).one_or_none()

    def due(self, type_: str, status: str, now: datetime) -> Sequence[HrEventRecord]:
        t = orm.hr_events
        query = select(HrEventRecord).where(
            t.c.type == type_, t.c.status == status, t.c.effective_at <= now
        )
        return self.session.scalars(query.order_by(t.c.effective_at)).all()

    def for_employee(self, employee_id: str) -> Sequence[HrEventRecord]:
        t = orm.hr_events
        query = select(HrEventRecord).where(t.c.employee_id == employee_id)
        return self.session.scalars(query.order_by(t.c.id)).all()


class NoticeRepository(_Repository):
    def add(self, notice: Notice) -> None:
        self.session.add(notice)

    def open(self, audience: str | None = None) -> Sequence[Notice]:
        query = select(Notice).where(orm.notices.c.resolved_at.is_(None))
        if audience:
            query = query.where(orm.notices.c.audience == audience)
        return self.session.scalars(query.order_by(orm.notices.c.id)).all()


class TokenRepository(_Repository):
    def add(self, token: ApiToken) -> None:
        self.session.add(token)

    def by_hash(self, token_hash: str) -> ApiToken | None:
        query = select(ApiToken).where(orm.api_tokens.c.token_hash == token_hash)
        return self.session.scalars(query).one_or_none()

    def by_name(self, name: str) -> ApiToken | None:
        query = select(ApiToken).where(orm.api_tokens.c.name == name)
        return self.session.scalars(query).one_or_none()

    def all(self) -> Sequence[ApiToken]:
        return self.session.scalars(
            select(ApiToken).order_by(orm.api_tokens.c.id)
        ).all()


class LocalUserRepository(_Repository):
    def add(self, user: LocalUser) -> None:
        self.session.add(user)

    def get(self, username: str) -> LocalUser | None:
        query = select(LocalUser).where(orm.local_users.c.username == username)
        return self.session.scalars(query).one_or_none()


class AuditRepository(_Repository):
    def add(self, record: AuditRecord) -> None:
        self.session.add(record)

    def last(self) -> AuditRecord | None:
        query = select(AuditRecord).order_by(orm.audit_records.c.seq.desc()).limit(1)
        return self.session.scalars(query).one_or_none()

    def iter_all(self, batch: int = 2000) -> Iterator[AuditRecord]:
        query = select(AuditRecord).order_by(orm.audit_records.c.seq)
        yield from self.session.scalars(query.execution_options(yield_per=batch))

    def for_target(self, target: str) -> Sequence[AuditRecord]:
        query = select(AuditRecord).where(orm.audit_records.c.target == target)
        return self.session.scalars(query.order_by(orm.audit_records.c.seq)).all()

    def anchor(self) -> tuple[int, str] | None:
        row = self.session.execute(
            select(orm.audit_anchor.c.seq, orm.audit_anchor.c.hash)
            .order_by(orm.audit_anchor.c.id.desc())
            .limit(1)
        ).first()
        return (int(row[0]), str(row[1])) if row else None

    def older_than(self, moment: datetime) -> int:
        query = select(func.count()).where(orm.audit_records.c.at < moment)
        return int(self.session.scalar(query) or 0)


class OperationRepository(_Repository):
    def add(self, operation: Operation) -> None:
        self.session.add(operation)

    def get(self, operation_id: int) -> Operation | None:
        return self.session.get(Operation, operation_id)

    def by_key(self, idempotency_key: str) -> Operation | None:
        query = select(Operation).where(
            orm.operations_table.c.idempotency_key == idempotency_key
        )
        return self.session.scalars(query).one_or_none()

    def for_person(
        self, person_id: int, statuses: Sequence[OperationStatus] = UNFINISHED
    ) -> Sequence[Operation]:
        t = orm.operations_table
        query = select(Operation).where(
            t.c.person_id == person_id, t.c.status.in_(statuses)
        )
        return self.session.scalars(query.order_by(t.c.id)).all()

    def for_account(self, account_id: int) -> Sequence[Operation]:
        t = orm.operations_table
        query = select(Operation).where(t.c.account_id == account_id)
        return self.session.scalars(query.order_by(t.c.id)).all()

    def list(
        self, status: OperationStatus | None = None, limit: int = 100
    ) -> Sequence[Operation]:
        t = orm.operations_table
        query = select(Operation)
        if status is not None:
            query = query.where(t.c.status == status)
        return self.session.scalars(query.order_by(t.c.id.desc()).limit(limit)).all()

    def dead_after(self, account_key: str, operation_id: int) -> Sequence[Operation]:
        t = orm.operations_table
        query = select(Operation).where(
            t.c.account_key == account_key,
            t.c.status == OperationStatus.DEAD,
            t.c.id > operation_id,
        )
        return self.session.scalars(query.order_by(t.c.id)).all()

    def counts_by_status(self) -> dict[str, int]:
        t = orm.operations_table
        rows = self.session.execute(
            select(t.c.status, func.count()).group_by(t.c.status)
        )
        return {str(status): int(count) for status, count in rows}
