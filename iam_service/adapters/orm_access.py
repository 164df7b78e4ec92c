"""Access requests, their decisions, SoD exceptions and mover reviews: the
tables and the repositories over them (never committing)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    or_,
    select,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from iam_service.adapters import orm, row_lock
from iam_service.domain.access import (
    AccessRequest,
    Decision,
    ItemKind,
    RequestDecision,
    RequestStatus,
)
from iam_service.domain.entitlements import SodException
from iam_service.domain.model import Classification
from iam_service.domain.movers import MoverReview, MoverReviewStatus

access_requests = Table(
    "access_requests",
    orm.metadata,
    Column("id", Integer, primary_key=True),
    Column("person_id", ForeignKey("persons.id"), nullable=False, index=True),
    Column("employee_id", String(64), nullable=False),
    Column("department_code", String(64), nullable=False),
    Column("kind", orm._enum(ItemKind), nullable=False),
    Column("item", String(600), nullable=False),
    Column("entitlement_refs", orm.Json, nullable=False),
    Column("justification", Text, nullable=False),
    Column("classification", orm._enum(Classification), nullable=False),
    Column("privileged", Boolean, nullable=False),
    Column("chain", orm.Json, nullable=False),
    Column("step", Integer, nullable=False, default=0),
    Column("status", orm._enum(RequestStatus), nullable=False),
    Column("requested_by", String(200), nullable=False),
    Column("requested_by_employee_id", String(64)),
    Column("created_at", orm.UtcDateTime, nullable=False),
    Column("ends_at", orm.UtcDateTime),
    Column("decided_at", orm.UtcDateTime),
    Column("outcome_reason", Text, nullable=False, default=""),
    Column("updated_at", orm.UtcDateTime),
    Index("ix_access_requests_status_department", "status", "department_code"),
)

access_request_decisions = Table(
    "access_request_decisions",
    orm.metadata,
    Column("id", Integer, primary_key=True),
    Column("request_id", ForeignKey("access_requests.id"), nullable=False, index=True),
    Column("step", Integer, nullable=False),
    Column("approver", String(32), nullable=False),
    Column("decision", orm._enum(Decision), nullable=False),
    Column("decided_by", String(200), nullable=False),
    Column("decided_by_employee_id", String(64)),
    Column("reason", Text, nullable=False, default=""),
    Column("at", orm.UtcDateTime, nullable=False),
)

sod_exceptions = Table(
    "sod_exceptions",
    orm.metadata,
    Column("id", Integer, primary_key=True),
    Column("person_id", ForeignKey("persons.id"), nullable=False, index=True),
    Column("employee_id", String(64), nullable=False),
    Column("rule_id", String(100), nullable=False),
    Column("reason", Text, nullable=False),
    Column("expires_at", orm.UtcDateTime, nullable=False),
    Column("granted_by", String(200), nullable=False),
    Column("granted_at", orm.UtcDateTime, nullable=False),
    Column("revoked_at", orm.UtcDateTime),
    Column("revoked_by", String(200)),
)

mover_reviews = Table(
    "mover_reviews",
    orm.metadata,
    Column("id", Integer, primary_key=True),
    Column("person_id", ForeignKey("persons.id"), nullable=False, index=True),
    Column("employee_id", String(64), nullable=False),
    Column("grant_id", ForeignKey("grants.id"), nullable=False),
    Column("entitlement_ref", String(600), nullable=False),
    Column("from_department", String(64), nullable=False),
    Column("to_department", String(64), nullable=False),
    Column("status", orm._enum(MoverReviewStatus), nullable=False),
    Column("created_at", orm.UtcDateTime, nullable=False),
    Column("due_at", orm.UtcDateTime, nullable=False),
    Column("cause", String(200), nullable=False, default=""),
    Column("decided_by", String(200)),
    Column("decided_at", orm.UtcDateTime),
    Column("reason", Text, nullable=False, default=""),
    Index("ix_mover_reviews_status_due_at", "status", "due_at"),
)

orm.register(AccessRequest, access_requests)
orm.register(RequestDecision, access_request_decisions)
orm.register(SodException, sod_exceptions)
orm.register(MoverReview, mover_reviews)


class _Repository:
    def __init__(self, session: Session) -> None:
        self.session = session


class AccessRequestRepository(_Repository):
    def add(self, request: AccessRequest) -> None:
        self.session.add(request)

    def get(self, request_id: int, *, lock: bool = False) -> AccessRequest | None:
        """``lock`` holds the row (PostgreSQL): two decisions on one request
        happen one after the other."""
        query = select(AccessRequest).where(access_requests.c.id == request_id)
        return row_lock.one_or_none(self.session, query, lock=lock)

    def add_decision(self, decision: RequestDecision) -> None:
        self.session.add(decision)

    def decisions(self, request_id: int) -> list[RequestDecision]:
        t = access_request_decisions
        query = select(RequestDecision).where(t.c.request_id == request_id)
        return list(self.session.scalars(query.order_by(t.c.step, t.c.id)))

    def find(
        self,
        *,
        status: RequestStatus | None = None,
        department: str | None = None,
        person_id: int | None = None,
        scope_departments: Collection[str] | None = None,
        involving: str | None = None,
        employee_id: str | None = None,
        limit: int = 200,
    ) -> Sequence[AccessRequest]:
        """Newest first. ``scope_departments`` with ``involving`` (an actor)
        and ``employee_id`` narrow to what a caller may see: requests of those
        departments, or asked by or for them."""
        t = access_requests
        query = select(AccessRequest)
        if status is not None:
            query = query.where(t.c.status == status)
        if department is not None:
            query = query.where(t.c.department_code == department)
        if person_id is not None:
            query = query.where(t.c.person_id == person_id)
        if scope_departments is not None:
            mine: list[ColumnElement[bool]] = [
                t.c.department_code.in_(list(scope_departments)),
                t.c.requested_by == involving,
            ]
            if employee_id is not None:
                mine += [
                    t.c.requested_by_employee_id == employee_id,
                    t.c.employee_id == employee_id,
                ]
            query = query.where(or_(*mine))
        return self.session.scalars(query.order_by(t.c.id.desc()).limit(limit)).all()


class SodExceptionRepository(_Repository):
    def add(self, exception: SodException) -> None:
        self.session.add(exception)

    def get(self, exception_id: int) -> SodException | None:
        return self.session.get(SodException, exception_id)

    def for_person(self, person_id: int) -> list[SodException]:
        t = sod_exceptions
        query = select(SodException).where(t.c.person_id == person_id)
        return list(self.session.scalars(query.order_by(t.c.id)))

    def all(self) -> Sequence[SodException]:
        t = sod_exceptions
        return self.session.scalars(select(SodException).order_by(t.c.id)).all()


class MoverReviewRepository(_Repository):
    def add(self, review: MoverReview) -> None:
        self.session.add(review)

    def get(self, review_id: int, *, lock: bool = False) -> MoverReview | None:
        query = select(MoverReview).where(mover_reviews.c.id == review_id)
        return row_lock.one_or_none(self.session, query, lock=lock)

    def open_for_person(self, person_id: int) -> list[MoverReview]:
        t = mover_reviews
        query = select(MoverReview).where(
            t.c.person_id == person_id, t.c.status == MoverReviewStatus.OPEN
        )
        return list(self.session.scalars(query.order_by(t.c.id)))

    def due(self, now: datetime) -> Sequence[MoverReview]:
        t = mover_reviews
        query = select(MoverReview).where(
            t.c.status == MoverReviewStatus.OPEN, t.c.due_at <= now
        )
        return self.session.scalars(query.order_by(t.c.id)).all()

    def find(
        self,
        *,
        status: MoverReviewStatus | None = None,
        departments: Collection[str] | None = None,
        limit: int = 200,
    ) -> Sequence[MoverReview]:
        t = mover_reviews
        query = select(MoverReview)
        if status is not None:
            query = query.where(t.c.status == status)
        if departments is not None:
            query = query.where(t.c.to_department.in_(list(departments)))
        return self.session.scalars(query.order_by(t.c.id.desc()).limit(limit)).all()
