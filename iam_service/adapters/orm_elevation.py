"""Privileged elevations and break-glass uses: the table and its repository
(never committing). See ``iam_service/domain/elevation.py``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text, select
from sqlalchemy.orm import Session

from iam_service.adapters import orm, row_lock
from iam_service.domain.elevation import (
    Elevation,
    ElevationKind,
    ElevationStatus,
    Ratification,
)

elevations = Table(
    "elevations",
    orm.metadata,
    Column("id", Integer, primary_key=True),
    Column("person_id", ForeignKey("persons.id"), nullable=False, index=True),
    Column("employee_id", String(64), nullable=False),
    Column("entitlement_ref", String(600), nullable=False),
    Column("kind", orm._enum(ElevationKind), nullable=False),
    Column("reason", Text, nullable=False),
    Column("duration_minutes", Integer, nullable=False),
    Column("requested_by", String(200), nullable=False),
    Column("requested_by_employee_id", String(64)),
    Column("requested_at", orm.UtcDateTime, nullable=False),
    Column("status", orm._enum(ElevationStatus), nullable=False),
    Column("decided_by", String(200)),
    Column("decided_by_employee_id", String(64)),
    Column("decided_at", orm.UtcDateTime),
    Column("decision_reason", Text, nullable=False, default=""),
    Column("starts_at", orm.UtcDateTime),
    Column("expires_at", orm.UtcDateTime),
    Column("grant_id", ForeignKey("grants.id")),
    Column("ended_at", orm.UtcDateTime),
    Column("ended_by", String(200)),
    Column("end_reason", Text, nullable=False, default=""),
    Column("ratification", orm._enum(Ratification)),
    Column("ratified_by", String(200)),
    Column("ratified_at", orm.UtcDateTime),
    Column("ratification_reason", Text, nullable=False, default=""),
    Column("escalations", Integer, nullable=False, default=0),
    Column("last_escalated_at", orm.UtcDateTime),
    Column("updated_at", orm.UtcDateTime),
    Index("ix_elevations_status_expires_at", "status", "expires_at"),
    Index("ix_elevations_ratification", "ratification"),
)

orm.register(Elevation, elevations)


class ElevationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, elevation: Elevation) -> None:
        self.session.add(elevation)

    def get(self, elevation_id: int, *, lock: bool = False) -> Elevation | None:
        """``lock`` holds the row (PostgreSQL): two decisions never cross."""
        query = select(Elevation).where(elevations.c.id == elevation_id)
        return row_lock.one_or_none(self.session, query, lock=lock)

    def by_grant(self, grant_id: int) -> Elevation | None:
        query = select(Elevation).where(elevations.c.grant_id == grant_id)
        return self.session.scalars(query.limit(1)).one_or_none()

    def find(
        self,
        *,
        status: ElevationStatus | None = None,
        active_at: datetime | None = None,
        employee_id: str | None = None,
        unratified: bool = False,
        limit: int = 500,
    ) -> Sequence[Elevation]:
        """Newest first. ``active_at``: in force at that time (the privileged
        view); ``unratified``: break-glass uses the officer has not decided."""
        t = elevations
        query = select(Elevation)
        if status is not None:
            query = query.where(t.c.status == status)
        if active_at is not None:
            query = query.where(
                t.c.status == ElevationStatus.ACTIVE, t.c.expires_at > active_at
            )
        if employee_id is not None:
            query = query.where(t.c.employee_id == employee_id)
        if unratified:
            query = query.where(t.c.ratification == Ratification.PENDING)
        return self.session.scalars(query.order_by(t.c.id.desc()).limit(limit)).all()

    def awaiting_ratification(self) -> Sequence[Elevation]:
        """Unratified break-glass uses, oldest first, locked where the store
        can (two escalation runs never escalate the same use twice)."""
        query = select(Elevation).where(
            elevations.c.ratification == Ratification.PENDING
        )
        if self.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return self.session.scalars(query.order_by(elevations.c.id)).all()
