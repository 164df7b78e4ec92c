"""Repository of the cloud-service register (5.23). Never commits."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from iam_service.adapters import orm, orm_register, row_lock
from iam_service.domain.model import TargetSystem
from iam_service.domain.register import ApprovalState, RegisterEntry


class RegisterRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, entry: RegisterEntry) -> None:
        self.session.add(entry)

    def get(self, system_key: str, *, lock: bool = False) -> RegisterEntry | None:
        """``lock`` holds the row (PostgreSQL) so that two decisions on one
        entry happen one after the other."""
        query = select(RegisterEntry).where(
            orm_register.system_register.c.system_key == system_key
        )
        return row_lock.one_or_none(self.session, query, lock=lock)

    def all(self) -> Sequence[tuple[TargetSystem, RegisterEntry | None]]:
        """Every target system with its entry (None before the first sync)."""
        r, t = orm_register.system_register, orm.target_systems
        query = (
            select(TargetSystem, RegisterEntry)
            .outerjoin(RegisterEntry, r.c.system_key == t.c.key)
            .order_by(t.c.key)
        )
        return [(system, entry) for system, entry in self.session.execute(query)]

    def states(self, keys: Collection[str]) -> dict[str, ApprovalState]:
        r = orm_register.system_register
        rows = self.session.execute(
            select(r.c.system_key, r.c.state).where(r.c.system_key.in_(set(keys)))
        )
        return {str(key): ApprovalState(state) for key, state in rows}

    def approved_keys(self) -> frozenset[str]:
        r = orm_register.system_register
        query = select(r.c.system_key).where(r.c.state == ApprovalState.APPROVED)
        return frozenset(self.session.scalars(query))
