"""Inbound SCIM: the table of what SCIM knows beyond the HR record, and the
queries the ``/scim/v2/Users`` endpoint needs.

A person has a ``scim_users`` row once a SCIM client wrote to them. The
``userName`` is unique, in any case, among Users that were not deleted
(a partial unique index; SQLite and PostgreSQL both have them).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    and_,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session

from iam_service.adapters import orm
from iam_service.domain.model import Grant, GrantStatus, Person
from iam_service.domain.scim_user import ScimUserRecord

_LIVE = text("deleted_at IS NULL")
scim_users = Table(
    "scim_users",
    orm.metadata,
    Column("id", Integer, primary_key=True),
    Column("person_id", ForeignKey("persons.id"), nullable=False, unique=True),
    Column("user_name", String(256), nullable=False),
    Column("user_name_key", String(256), nullable=False),
    Column("external_id", String(256), index=True),
    Column("email_type", String(32)),
    Column("email_primary", Boolean),
    Column("deleted_at", orm.UtcDateTime),
    Column("last_request", String(128)),
    Column("last_version", String(64)),
    Column("created_at", orm.UtcDateTime),
    Column("updated_at", orm.UtcDateTime),
    Index(
        "uq_scim_users_live_user_name",
        "user_name_key",
        unique=True,
        sqlite_where=_LIVE,
        postgresql_where=_LIVE,
    ),
)
orm.register(ScimUserRecord, scim_users)

Row = tuple[Person, ScimUserRecord | None]


class ScimUserRepository:
    """People as SCIM sees them. Never commits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, record: ScimUserRecord) -> None:
        self.session.add(record)

    def for_person(self, person_id: int) -> ScimUserRecord | None:
        query = select(ScimUserRecord).where(scim_users.c.person_id == person_id)
        return self.session.scalars(query).one_or_none()

    def visible(
        self,
        *,
        employee_ids: Collection[str] | None = None,
        user_name: str | None = None,
        external_id: str | None = None,
        email: str | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> Sequence[Row]:
        """People whose User was not deleted, oldest first; each argument
        narrows the search (the endpoint passes what a filter pins down)."""
        p, s = orm.persons, scim_users
        query = (
            select(Person, ScimUserRecord)
            .outerjoin(ScimUserRecord, s.c.person_id == p.c.id)
            .where(s.c.deleted_at.is_(None))
            .order_by(p.c.id)
        )
        if employee_ids is not None:
            query = query.where(p.c.employee_id.in_(list(employee_ids)))
        if user_name is not None:
            key = user_name.lower()
            query = query.where(
                or_(s.c.user_name_key == key, and_(s.c.id.is_(None), p.c.email == key))
            )
        if external_id is not None:
            query = query.where(s.c.external_id == external_id)
        if email is not None:
            query = query.where(p.c.email == email.lower())
        query = query.offset(offset).limit(limit)
        return [(person, record) for person, record in self.session.execute(query)]

    def count_visible(self) -> int:
        p, s = orm.persons, scim_users
        query = (
            select(func.count())
            .select_from(p)
            .outerjoin(s, s.c.person_id == p.c.id)
            .where(s.c.deleted_at.is_(None))
        )
        return int(self.session.scalar(query) or 0)

    def user_name_holders(self, user_name: str) -> list[int | None]:
        """The people whose live User has this userName (any case)."""
        return [person.id for person, _ in self.visible(user_name=user_name)]

    def groups(self, person_ids: Collection[int]) -> dict[int, list[Grant]]:
        """Active grants per person id (expiry is checked by the caller)."""
        g = orm.grants
        query = select(Grant).where(
            g.c.person_id.in_(list(person_ids)), g.c.status == GrantStatus.ACTIVE
        )
        out: dict[int, list[Grant]] = {}
        for grant in self.session.scalars(query.order_by(g.c.entitlement_ref)):
            out.setdefault(grant.person_id, []).append(grant)
        return out
