"""Read models for the console's shell pages: people, the queue, the audit
trail. Reads only; paged, filtered in the database."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, or_, select

from iam_service.adapters import orm
from iam_service.domain.audit import AuditRecord
from iam_service.domain.model import Person, PersonStatus
from iam_service.domain.operations import Operation, OperationStatus
from iam_service.domain.security import Role
from iam_service.services.unit_of_work import UnitOfWorkFactory

PAGE_SIZE = 50


@dataclass(frozen=True)
class Page:
    number: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.size))

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


def _page(number: int, size: int, total: int) -> Page:
    size = max(1, min(size, 200))
    pages = max(1, math.ceil(total / size))
    return Page(max(1, min(number, pages)), size, total)


def find_people(
    uow_factory: UnitOfWorkFactory,
    text: str = "",
    status: PersonStatus | None = None,
    number: int = 1,
    size: int = PAGE_SIZE,
) -> tuple[list[dict[str, Any]], Page]:
    """People whose id, name or e-mail contains ``text``, newest first."""
    p = orm.persons
    query: Select[Any] = select(Person)
    if text.strip():
        like = f"%{text.strip().lower()}%"
        query = query.where(
            or_(
                func.lower(p.c.employee_id).like(like),
                func.lower(p.c.given_name).like(like),
                func.lower(p.c.family_name).like(like),
                func.lower(p.c.email).like(like),
            )
        )
    if status is not None:
        query = query.where(p.c.status == status)
    with uow_factory() as uow:
        s = uow.session
        total = int(s.scalar(select(func.count()).select_from(query.subquery())) or 0)
        page = _page(number, size, total)
        rows = s.scalars(
            query.order_by(p.c.id.desc()).offset(page.offset).limit(page.size)
        ).all()
        return [_person(x) for x in rows], page


def _person(person: Person) -> dict[str, Any]:
    return {
        "employee_id": person.employee_id,
        "name": f"{person.family_name} {person.given_name}",
        "email": person.email,
        "department": person.department_code,
        "title": person.title,
        "status": str(person.status),
        "start_date": person.start_date,
        "end_date": person.end_date,
        "flags": list(person.flags),
    }


def queue_overview(uow_factory: UnitOfWorkFactory, limit: int = 100) -> dict[str, Any]:
    """Counts by status, dead operations (to retry), failing ones, notices."""
    t = orm.operations_table
    with uow_factory() as uow:
        counts = uow.operations.counts_by_status()
        dead = uow.operations.list(OperationStatus.DEAD, limit)
        failing = uow.session.scalars(
            select(Operation)
            .where(t.c.status == OperationStatus.PENDING, t.c.last_error.is_not(None))
            .order_by(t.c.next_attempt_at)
            .limit(limit)
        ).all()
        notices = uow.notices.open(Role.SYSADMIN)
        return {
            "counts": {s.value: counts.get(s.value, 0) for s in OperationStatus},
            "dead": [_operation(op) for op in dead],
            "failing": [_operation(op) for op in failing],
            "notices": [
                {
                    "kind": n.kind,
                    "subject": n.subject,
                    "detail": n.detail,
                    "created_at": n.created_at,
                }
                for n in notices
            ],
        }


def _operation(op: Operation) -> dict[str, Any]:
    return {
        "id": op.id,
        "system": op.system_key,
        "kind": str(op.kind),
        "account": op.account_key,
        "status": str(op.status),
        "attempts": op.attempts,
        "last_error": op.last_error,
        "next_attempt_at": op.next_attempt_at,
        "updated_at": op.updated_at,
        "cause": op.cause,
    }


@dataclass(frozen=True)
class AuditFilter:
    target: str = ""  # a prefix: "person:E1001", "account:ad"
    actor: str = ""  # a prefix: "sso:", "worker:"
    action: str = ""  # a prefix: "console.", "operation.dead"
    since: date | None = None  # days in the organisation's time zone
    until: date | None = None


def search_audit(
    uow_factory: UnitOfWorkFactory,
    filters: AuditFilter,
    tz: ZoneInfo,
    number: int = 1,
    size: int = PAGE_SIZE,
) -> tuple[list[AuditRecord], Page]:
    """Audit records matching ``filters``, newest first (8.15)."""
    a = orm.audit_records
    query: Select[Any] = select(AuditRecord)
    for column, prefix in (
        (a.c.target, filters.target),
        (a.c.actor, filters.actor),
        (a.c.action, filters.action),
    ):
        if prefix.strip():
            query = query.where(column.like(_prefix(prefix.strip()), escape="\\"))
    if filters.since is not None:
        query = query.where(a.c.at >= _start_of(filters.since, tz))
    if filters.until is not None:
        query = query.where(a.c.at < _start_of(filters.until + timedelta(days=1), tz))
    with uow_factory() as uow:
        s = uow.session
        total = int(s.scalar(select(func.count()).select_from(query.subquery())) or 0)
        page = _page(number, size, total)
        rows = s.scalars(
            query.order_by(a.c.seq.desc()).offset(page.offset).limit(page.size)
        ).all()
        return list(rows), page


def _prefix(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def _start_of(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)
