"""Creating a campaign's items set-based: one ``INSERT ... SELECT`` per kind
of review, never an ORM object per item (10,000 people x 20 grants must
take seconds, ``benchmarks/review_campaign.py``).

The few things SQL cannot work out from the tables (the policy's catalogue
and scope, each position's birthright, the reviewer of each department, the
SoD findings) are computed by the service and handed over as small
temporary tables; the statement then joins them with grants, persons,
accounts, sign-in activity and access requests. The recommendation rules
here mirror ``domain.review_rules.recommend``; a test keeps them equal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    insert,
    text,
)
from sqlalchemy.orm import Session

from iam_service.adapters import orm

_tmp = MetaData()
_catalogue = Table(
    "tmp_review_catalogue",
    _tmp,
    Column("ref", String(600), primary_key=True),
    Column("system_key", String(64), nullable=False),
    Column("privileged", Boolean, nullable=False),
    prefixes=["TEMPORARY"],
)
_birthright = Table(
    "tmp_review_birthright",
    _tmp,
    Column("department_code", String(64)),
    Column("title", String(128)),
    Column("employment_type", String(32)),
    Column("ref", String(600)),
    prefixes=["TEMPORARY"],
)
_routes = Table(
    "tmp_review_routes",
    _tmp,
    Column("department_code", String(64), primary_key=True),
    Column("head_employee_id", String(64)),
    Column("review_id", Integer, nullable=False),
    Column("self_review_id", Integer, nullable=False),
    prefixes=["TEMPORARY"],
)
_sod = Table(
    "tmp_review_sod",
    _tmp,
    Column("person_id", Integer),
    Column("ref", String(600)),
    Column("kind", String(16)),
    Column("rules", String(400)),
    prefixes=["TEMPORARY"],
)
_TABLES = (_catalogue, _birthright, _routes, _sod)


@dataclass(frozen=True)
class ItemPlan:
    """Everything the statement needs besides the tables."""

    campaign_id: int
    now: datetime
    inactive_before: datetime
    # ref, system key, privileged: the entitlements in scope
    catalogue: Sequence[tuple[str, str, bool]]
    # department, title, employment type, ref: each position's birthright
    birthright: Sequence[tuple[str, str, str, str]]
    # department, head, review id, review id for the head's own access
    routes: Sequence[tuple[str, str | None, int, int]]
    # person id, ref, "exception"/"conflict", rule ids
    sod: Sequence[tuple[int, str, str, str]] = field(default_factory=tuple)
    # the security officer's review of privileged access (8.2), if any
    privileged_review_id: int | None = None


_SELECT = """
SELECT :campaign_id, {review}, g.id, p.id, p.employee_id, p.department_code,
  g.entitlement_ref, c.system_key, g.source, g.source_ref, g.granted_at,
  c.privileged, b.ref IS NOT NULL, s.last_sign_in_at, s.account_id IS NOT NULL,
  sd.kind, COALESCE(sd.rules, ''),
  (CASE WHEN s.account_id IS NOT NULL AND (s.last_sign_in_at < :inactive_before
        OR (s.last_sign_in_at IS NULL AND a.created_at < :inactive_before))
        THEN 'revoke_inactive,' ELSE '' END)
  || (CASE WHEN b.ref IS NULL AND (q.id IS NULL
        OR q.department_code <> p.department_code)
        THEN 'look_outside_birthright,' ELSE '' END)
  || (CASE WHEN c.privileged THEN 'look_privileged,' ELSE '' END)
  || (CASE WHEN sd.kind = 'exception' THEN 'look_sod_exception,'
           WHEN sd.kind = 'conflict' THEN 'look_sod_conflict,' ELSE '' END),
  '', FALSE, ''
FROM grants g
JOIN persons p ON p.id = g.person_id
JOIN tmp_review_catalogue c ON c.ref = g.entitlement_ref
JOIN tmp_review_routes r ON r.department_code = p.department_code
LEFT JOIN tmp_review_birthright b ON b.department_code = p.department_code
  AND b.title = p.title AND b.employment_type = p.employment_type
  AND b.ref = g.entitlement_ref
LEFT JOIN accounts a ON a.person_id = p.id AND a.system_key = c.system_key
LEFT JOIN sign_in_activity s ON s.account_id = a.id
LEFT JOIN tmp_review_sod sd ON sd.person_id = p.id AND sd.ref = g.entitlement_ref
LEFT JOIN access_requests q ON g.source = 'request'
  AND CAST(q.id AS VARCHAR(20)) = g.source_ref
WHERE g.status = 'active' AND p.status = 'active'
  AND (g.expires_at IS NULL OR g.expires_at > :now) {where}
ORDER BY p.department_code, p.employee_id, g.entitlement_ref
"""
_COLUMNS = (
    "campaign_id, review_id, grant_id, person_id, employee_id, department_code, "
    "entitlement_ref, system_key, grant_source, grant_source_ref, granted_at, "
    "privileged, in_birthright, last_sign_in_at, sign_in_reported, sod, sod_rules, "
    "recommendations, comment, escalated, apply_note"
)


def insert_items(session: Session, plan: ItemPlan) -> int:
    """Insert every item of the campaign; returns how many."""
    connection = session.connection()
    for table in _TABLES:
        table.drop(connection, checkfirst=True)
        table.create(connection)
    try:
        _fill(session, plan)
        count = _insert(
            session,
            plan,
            "CASE WHEN p.employee_id = r.head_employee_id "
            "THEN r.self_review_id ELSE r.review_id END",
            "",
        )
        if plan.privileged_review_id is not None:
            count += _insert(
                session, plan, str(int(plan.privileged_review_id)), "AND c.privileged"
            )
        return count
    finally:
        for table in _TABLES:
            table.drop(connection)


def _fill(session: Session, plan: ItemPlan) -> None:
    rows: list[tuple[Table, list[dict[str, Any]]]] = [
        (
            _catalogue,
            [
                {"ref": r, "system_key": s, "privileged": p}
                for r, s, p in plan.catalogue
            ],
        ),
        (
            _birthright,
            [
                {"department_code": d, "title": t, "employment_type": e, "ref": r}
                for d, t, e, r in plan.birthright
            ],
        ),
        (
            _routes,
            [
                {
                    "department_code": d,
                    "head_employee_id": h,
                    "review_id": r,
                    "self_review_id": s,
                }
                for d, h, r, s in plan.routes
            ],
        ),
        (
            _sod,
            [
                {"person_id": p, "ref": r, "kind": k, "rules": rules}
                for p, r, k, rules in plan.sod
            ],
        ),
    ]
    for table, values in rows:
        if values:
            session.execute(insert(table), values)
    if session.get_bind().dialect.name == "postgresql":
        # Temporary tables have no statistics until analysed; without them
        # the planner may choose nested loops over 200,000 grants.
        for table in _TABLES:
            session.execute(text(f"ANALYZE {table.name}"))


def _insert(session: Session, plan: ItemPlan, review: str, where: str) -> int:
    statement = text(
        f"INSERT INTO review_items ({_COLUMNS}) "
        + _SELECT.format(review=review, where=where)
    ).bindparams(
        bindparam("campaign_id", plan.campaign_id, type_=Integer),
        bindparam("inactive_before", plan.inactive_before, type_=orm.UtcDateTime),
        bindparam("now", plan.now, type_=orm.UtcDateTime),
    )
    result = session.execute(statement)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
