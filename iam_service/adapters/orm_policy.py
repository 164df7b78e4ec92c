"""Policy versions (8.32): the table, and the repository over it.

At most one row is ``active`` (a partial unique index says so to both
databases), so two activations racing cannot both win. The files' text is
kept whole: any version can be read back, diffed and re-activated.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence

from sqlalchemy import (
    Boolean,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    select,
    text,
)
from sqlalchemy.orm import Session

from iam_service.adapters import orm, row_lock
from iam_service.domain.entitlements import GrantFact, SodException
from iam_service.domain.model import AccountStatus, GrantStatus, PersonStatus
from iam_service.domain.policy_plan import Holding
from iam_service.domain.policy_versions import PolicyVersion, VersionState

_ACTIVE = text("state = 'active'")
policy_versions = Table(
    "policy_versions",
    orm.metadata,
    Column("id", Integer, primary_key=True),
    Column("content_hash", String(64), nullable=False, index=True),
    Column("files", orm.Json, nullable=False),
    Column("state", orm._enum(VersionState), nullable=False),
    Column("diff", orm.Json, nullable=False),
    Column("needs_security_officer", Boolean, nullable=False, default=False),
    Column("reason", Text, nullable=False, default=""),
    Column("proposed_by", String(200), nullable=False),
    Column("proposed_at", orm.UtcDateTime, nullable=False),
    Column("approved_by", String(200)),
    Column("approver_role", String(32)),
    Column("approved_at", orm.UtcDateTime),
    Column("activated_at", orm.UtcDateTime),
    Column("decision_reason", Text, nullable=False, default=""),
    Index(
        "uq_policy_versions_one_active",
        "state",
        unique=True,
        sqlite_where=_ACTIVE,
        postgresql_where=_ACTIVE,
    ),
)

orm.register(PolicyVersion, policy_versions)


class PolicyVersionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, version: PolicyVersion) -> None:
        self.session.add(version)

    def get(self, version_id: int, *, lock: bool = False) -> PolicyVersion | None:
        query = select(PolicyVersion).where(policy_versions.c.id == version_id)
        return row_lock.one_or_none(self.session, query, lock=lock)

    def active(self) -> PolicyVersion | None:
        query = select(PolicyVersion).where(
            policy_versions.c.state == VersionState.ACTIVE
        )
        return self.session.scalars(query).one_or_none()

    def active_id(self) -> int | None:
        """The active version's id alone: cheap enough to ask on every use."""
        return self.session.scalar(
            select(policy_versions.c.id).where(
                policy_versions.c.state == VersionState.ACTIVE
            )
        )

    def all(self, limit: int = 100) -> Sequence[PolicyVersion]:
        query = select(PolicyVersion).order_by(policy_versions.c.id.desc())
        return self.session.scalars(query.limit(limit)).all()

    def population(self, chunk: int = 2000) -> Iterator[Holding]:
        """Everyone not terminated with their active grants, live account
        systems and SoD exceptions, read in chunks of plain rows (no ORM
        objects), so that planning for 100,000 people is quick and holds one
        chunk at a time."""
        p, g, a = orm.persons, orm.grants, orm.accounts
        exceptions = defaultdict(list)
        for exception in self.session.scalars(select(SodException)):
            exceptions[exception.person_id].append(exception)
        last = 0
        while True:
            rows = self.session.execute(
                select(
                    p.c.id,
                    p.c.employee_id,
                    p.c.department_code,
                    p.c.title,
                    p.c.employment_type,
                    p.c.status,
                )
                .where(p.c.id > last, p.c.status != PersonStatus.TERMINATED)
                .order_by(p.c.id)
                .limit(chunk)
            ).all()
            if not rows:
                return
            first, last = last, rows[-1].id
            in_chunk = (g.c.person_id > first) & (g.c.person_id <= last)
            grants = defaultdict(list)
            for person_id, ref, source, expires_at in self.session.execute(
                select(
                    g.c.person_id, g.c.entitlement_ref, g.c.source, g.c.expires_at
                ).where(in_chunk, g.c.status == GrantStatus.ACTIVE)
            ).all():  # fetchall: row by row costs psycopg more than the rows
                grants[person_id].append(
                    GrantFact(ref, source, GrantStatus.ACTIVE, expires_at)
                )
            systems = defaultdict(set)
            for person_id, system_key in self.session.execute(
                select(a.c.person_id, a.c.system_key).where(
                    (a.c.person_id > first) & (a.c.person_id <= last),
                    a.c.status != AccountStatus.DELETED,
                )
            ).all():
                systems[person_id].add(system_key)
            for row in rows:
                yield Holding(
                    row.employee_id,
                    row.department_code,
                    row.title,
                    row.employment_type,
                    row.status,
                    grants[row.id],
                    frozenset(systems[row.id]),
                    exceptions[row.id],
                )
