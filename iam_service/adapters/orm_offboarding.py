"""Offboarding cases, their checklist items and escalations: the tables and
the repository over them (never committing).

One open case per person at most (a partial unique index) and one case per
termination (``cause`` is unique); one escalation per case and level (a
unique constraint), so a scheduler tick that runs twice cannot mail twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    select,
    text,
)
from sqlalchemy.orm import Session

from iam_service.adapters import orm, row_lock
from iam_service.domain.assets import AssetCondition
from iam_service.domain.offboarding import (
    UNRESOLVED,
    CaseEscalation,
    CaseItem,
    CaseStatus,
    EscalationLevel,
    ItemKind,
    ItemStatus,
    OffboardingCase,
    Resolution,
    WriteOffKind,
)

_OPEN = text("status = 'open'")
offboarding_cases = Table(
    "offboarding_cases",
    orm.metadata,
    Column("id", Integer, primary_key=True),
    Column("person_id", ForeignKey("persons.id"), nullable=False, index=True),
    Column("employee_id", String(64), nullable=False),
    Column("person_name", String(201), nullable=False),
    Column("department_code", String(64), nullable=False, index=True),
    Column("manager_employee_id", String(64)),
    Column("cause", String(200), nullable=False, unique=True),
    Column("terminated_at", orm.UtcDateTime, nullable=False),
    Column("opened_at", orm.UtcDateTime, nullable=False),
    Column("opened_by", String(200), nullable=False),
    Column("status", orm._enum(CaseStatus), nullable=False, index=True),
    Column("all_disabled_at", orm.UtcDateTime),
    Column("closed_at", orm.UtcDateTime),
    Column("closed_by", String(200)),
    Column("close_note", Text, nullable=False, default=""),
    Column("deletion_due_at", orm.UtcDateTime),
    Column("deletion_queued_at", orm.UtcDateTime),
    Column("accounts_deleted_at", orm.UtcDateTime),
    Column("deletion_held_at", orm.UtcDateTime),
    Column("cancelled_at", orm.UtcDateTime),
    Column("cancel_reason", Text, nullable=False, default=""),
    Index(
        "uq_offboarding_cases_open_person",
        "person_id",
        unique=True,
        postgresql_where=_OPEN,
        sqlite_where=_OPEN,
    ),
)

offboarding_items = Table(
    "offboarding_items",
    orm.metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", ForeignKey("offboarding_cases.id"), nullable=False, index=True),
    Column("kind", orm._enum(ItemKind), nullable=False),
    Column("title", String(300), nullable=False),
    Column("asset_id", ForeignKey("assets.id"), index=True),
    Column("system_key", String(64)),
    Column("reference", String(300)),
    Column("status", orm._enum(ItemStatus), nullable=False),
    Column("resolution", orm._enum(Resolution)),
    Column("write_off_kind", orm._enum(WriteOffKind)),
    Column("condition", orm._enum(AssetCondition)),
    Column("received_by", String(200)),
    Column("reason", Text, nullable=False, default=""),
    Column("note", Text, nullable=False, default=""),
    Column("requested_by", String(200)),
    Column("requested_by_employee_id", String(64)),
    Column("requested_at", orm.UtcDateTime),
    Column("decided_by", String(200)),
    Column("decided_at", orm.UtcDateTime),
    Column("done_by", String(200)),
    Column("done_at", orm.UtcDateTime),
)

offboarding_escalations = Table(
    "offboarding_escalations",
    orm.metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", ForeignKey("offboarding_cases.id"), nullable=False),
    Column("level", Integer, nullable=False),
    Column("at", orm.UtcDateTime, nullable=False),
    Column("recipients", orm.Json, nullable=False),
    Column("outstanding", orm.Json, nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("mail_key", String(300)),
    UniqueConstraint("case_id", "level"),
)

orm.register(OffboardingCase, offboarding_cases)
orm.register(CaseItem, offboarding_items)
orm.register(CaseEscalation, offboarding_escalations)


class OffboardingRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, case: OffboardingCase) -> None:
        self.session.add(case)

    def get(self, case_id: int, *, lock: bool = False) -> OffboardingCase | None:
        """``lock`` holds the row (PostgreSQL): two changes to one case
        apply one after the other."""
        query = select(OffboardingCase).where(offboarding_cases.c.id == case_id)
        return row_lock.one_or_none(self.session, query, lock=lock)

    def by_cause(self, cause: str) -> OffboardingCase | None:
        query = select(OffboardingCase).where(offboarding_cases.c.cause == cause)
        return self.session.scalars(query).one_or_none()

    def for_person(self, person_id: int) -> Sequence[OffboardingCase]:
        t = offboarding_cases
        query = select(OffboardingCase).where(t.c.person_id == person_id)
        return self.session.scalars(query.order_by(t.c.id.desc())).all()

    def open_for_person(self, person_id: int) -> OffboardingCase | None:
        t = offboarding_cases
        query = select(OffboardingCase).where(
            t.c.person_id == person_id, t.c.status == CaseStatus.OPEN
        )
        return self.session.scalars(query).one_or_none()

    def find(
        self,
        *,
        status: CaseStatus | None = None,
        department: str | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> Sequence[OffboardingCase]:
        t = offboarding_cases
        query = select(OffboardingCase)
        if status is not None:
            query = query.where(t.c.status == status)
        if department is not None:
            query = query.where(t.c.department_code == department)
        query = query.order_by(t.c.id.desc()).limit(limit).offset(offset)
        return self.session.scalars(query).all()

    def deletion_due(self, now: datetime) -> Sequence[OffboardingCase]:
        """Closed, not cancelled, deletion not queued yet, retention over."""
        t = offboarding_cases
        query = select(OffboardingCase).where(
            t.c.status == CaseStatus.CLOSED,
            t.c.cancelled_at.is_(None),
            t.c.deletion_queued_at.is_(None),
            t.c.deletion_due_at <= now,
        )
        return self.session.scalars(query.order_by(t.c.id)).all()

    def deleting(self) -> Sequence[OffboardingCase]:
        """Deletion queued, not yet seen complete."""
        t = offboarding_cases
        query = select(OffboardingCase).where(
            t.c.deletion_queued_at.is_not(None), t.c.accounts_deleted_at.is_(None)
        )
        return self.session.scalars(query.order_by(t.c.id)).all()

    # -- items --------------------------------------------------------------
    def add_item(self, item: CaseItem) -> None:
        self.session.add(item)

    def item(self, case_id: int, item_id: int) -> CaseItem | None:
        found = self.session.get(CaseItem, item_id)
        return found if found is not None and found.case_id == case_id else None

    def items(self, case_id: int) -> list[CaseItem]:
        t = offboarding_items
        query = select(CaseItem).where(t.c.case_id == case_id)
        return list(self.session.scalars(query.order_by(t.c.id)))

    def items_of(self, case_ids: Sequence[int]) -> list[CaseItem]:
        t = offboarding_items
        query = select(CaseItem).where(t.c.case_id.in_(list(case_ids)))
        return list(self.session.scalars(query.order_by(t.c.id)))

    def items_in_open_cases(self, status: ItemStatus) -> list[CaseItem]:
        i, c = offboarding_items, offboarding_cases
        query = (
            select(CaseItem)
            .join(c, c.c.id == i.c.case_id)
            .where(i.c.status == status, c.c.status == CaseStatus.OPEN)
        )
        return list(self.session.scalars(query.order_by(i.c.id)))

    def open_asset_item(self, asset_id: int) -> CaseItem | None:
        """The unresolved return item of an asset in an open case, if any."""
        i, c = offboarding_items, offboarding_cases
        query = (
            select(CaseItem)
            .join(c, c.c.id == i.c.case_id)
            .where(
                i.c.asset_id == asset_id,
                i.c.kind == ItemKind.ASSET_RETURN,
                i.c.status.in_(list(UNRESOLVED)),
                c.c.status == CaseStatus.OPEN,
            )
        )
        return self.session.scalars(query).first()

    # -- escalations --------------------------------------------------------
    def add_escalation(self, escalation: CaseEscalation) -> None:
        self.session.add(escalation)

    def escalations(self, case_id: int) -> list[CaseEscalation]:
        t = offboarding_escalations
        query = select(CaseEscalation).where(t.c.case_id == case_id)
        return list(self.session.scalars(query.order_by(t.c.level)))

    def escalated_levels(self, case_id: int) -> set[EscalationLevel]:
        t = offboarding_escalations
        query = select(t.c.level).where(t.c.case_id == case_id)
        return {EscalationLevel(int(v)) for v in self.session.scalars(query)}
