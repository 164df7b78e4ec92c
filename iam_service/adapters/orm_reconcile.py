"""Reconciliation runs and their findings: the tables, the repository (never
committing), and the streaming reads of expected state.

The reads behind a run stream rows (``yield_per``) so that a system with
100,000 accounts is indexed without loading 100,000 ORM objects.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import datetime

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    insert,
    or_,
    select,
)
from sqlalchemy.orm import Session

from iam_service.adapters import orm
from iam_service.domain.model import AccountStatus, GrantStatus, PersonStatus
from iam_service.domain.operations import UNFINISHED
from iam_service.domain.reconciliation import (
    FindingAction,
    FindingKind,
    ReconcileItem,
    ReconcileRun,
    RunStatus,
)

reconcile_runs = Table(
    "reconcile_runs",
    orm.metadata,
    Column("id", Integer, primary_key=True),
    Column("system_key", String(64), nullable=False),
    Column("started_at", orm.UtcDateTime, nullable=False),
    Column("finished_at", orm.UtcDateTime),
    Column("actor", String(200), nullable=False),
    Column("apply", Boolean, nullable=False),
    Column("status", orm._enum(RunStatus), nullable=False),
    Column("counts", orm.Json, nullable=False),
    Column("error", String(2000)),
    Index("ix_reconcile_runs_system_key_started_at", "system_key", "started_at"),
)

reconcile_items = Table(
    "reconcile_items",
    orm.metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", ForeignKey("reconcile_runs.id"), nullable=False),
    Column("kind", orm._enum(FindingKind), nullable=False),
    Column("action", orm._enum(FindingAction), nullable=False),
    Column("username", String(256), nullable=False),
    Column("native_id", String(256), nullable=False),
    Column("employee_id", String(64)),
    Column("entitlement_ref", String(600)),
    Column("account_id", Integer),
    Column("operation_id", Integer),
    Index("ix_reconcile_items_run_id_kind", "run_id", "kind"),
)

orm.register(ReconcileRun, reconcile_runs)
orm.register(ReconcileItem, reconcile_items)

_STREAM = {"yield_per": 5000}
AccountRow = tuple[int, int, str, str, str, str | None]
"""account id, person id, employee id, person status, username, native id"""


class ReconcileRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # -- runs and items ----------------------------------------------------
    def add_run(self, run: ReconcileRun) -> None:
        self.session.add(run)

    def get_run(self, run_id: int) -> ReconcileRun | None:
        return self.session.get(ReconcileRun, run_id)

    def runs(
        self, system_key: str | None = None, limit: int = 100
    ) -> list[ReconcileRun]:
        query = select(ReconcileRun)
        if system_key is not None:
            query = query.where(reconcile_runs.c.system_key == system_key)
        query = query.order_by(reconcile_runs.c.id.desc()).limit(limit)
        return list(self.session.scalars(query))

    def last_started(self, system_key: str) -> datetime | None:
        """When the newest run of the system started (running runs count)."""
        t = reconcile_runs
        query = select(t.c.started_at).where(t.c.system_key == system_key)
        found: datetime | None = self.session.scalar(
            query.order_by(t.c.started_at.desc()).limit(1)
        )
        return found

    def add_items(self, items: Sequence[ReconcileItem]) -> None:
        """One multi-row insert per page of findings (no ORM objects)."""
        if not items:
            return
        rows = [
            {
                "run_id": i.run_id,
                "kind": i.kind,
                "action": i.action,
                "username": i.username,
                "native_id": i.native_id,
                "employee_id": i.employee_id,
                "entitlement_ref": i.entitlement_ref,
                "account_id": i.account_id,
                "operation_id": i.operation_id,
            }
            for i in items
        ]
        self.session.execute(insert(reconcile_items), rows)

    def items(
        self,
        run_id: int,
        *,
        kind: FindingKind | None = None,
        limit: int = 500,
        offset: int = 0,
    ) -> list[ReconcileItem]:
        t = reconcile_items
        query = select(ReconcileItem).where(t.c.run_id == run_id)
        if kind is not None:
            query = query.where(t.c.kind == kind)
        query = query.order_by(t.c.id).limit(limit).offset(offset)
        return list(self.session.scalars(query))

    # -- expected state, streamed ------------------------------------------
    def accounts(self, system_key: str) -> Iterator[AccountRow]:
        """The system's accounts we know (not deleted), with their person."""
        a, p = orm.accounts, orm.persons
        query = (
            select(
                a.c.id,
                a.c.person_id,
                p.c.employee_id,
                p.c.status,
                a.c.username,
                a.c.native_id,
            )
            .join(p, p.c.id == a.c.person_id)
            .where(a.c.system_key == system_key, a.c.status != AccountStatus.DELETED)
        )
        for row in self.session.execute(query, execution_options=_STREAM):
            yield (row[0], row[1], row[2], str(row[3]), row[4], row[5])

    def effective_grants(
        self, refs: Collection[str], now: datetime, person_ids: Collection[int] = ()
    ) -> Iterator[tuple[int, str]]:
        """``(person id, ref)`` of active, unexpired grants of ``refs``
        (the rule of ``domain.entitlements.effective_entitlements``, in SQL),
        for everyone or for ``person_ids``, ordered by person."""
        g = orm.grants
        query = select(g.c.person_id, g.c.entitlement_ref).where(
            g.c.status == GrantStatus.ACTIVE,
            or_(g.c.expires_at.is_(None), g.c.expires_at > now),
            g.c.entitlement_ref.in_(list(refs)),
        )
        if person_ids:
            query = query.where(g.c.person_id.in_(list(person_ids)))
        query = query.order_by(g.c.person_id)  # one person's rows together
        for row in self.session.execute(query, execution_options=_STREAM):
            yield int(row[0]), str(row[1])

    def employee_ids(self) -> Iterator[str]:
        """Every person's employee id, terminated or not."""
        query = select(orm.persons.c.employee_id)
        for row in self.session.execute(query, execution_options=_STREAM):
            yield str(row[0])

    def busy_accounts(
        self, system_key: str, account_ids: Collection[int] = ()
    ) -> set[int]:
        """Accounts of the system with operations still to run: their state is
        in motion and judged on a later run."""
        o = orm.operations_table
        query = select(o.c.account_id).where(
            o.c.system_key == system_key,
            o.c.status.in_(list(UNFINISHED)),
            o.c.account_id.is_not(None),
        )
        if account_ids:
            query = query.where(o.c.account_id.in_(list(account_ids)))
        return {int(a) for a in self.session.scalars(query.distinct())}

    def terminated(self, person_ids: Collection[int]) -> set[int]:
        p = orm.persons
        query = select(p.c.id).where(
            p.c.id.in_(list(person_ids)), p.c.status == PersonStatus.TERMINATED
        )
        return {int(i) for i in self.session.scalars(query)}
