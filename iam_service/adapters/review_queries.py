"""The review page's reads: one page of items with what the reviewer needs
beside each (the person, the operation that applied a revoke, the request
a grant came from), and progress counts. Each is one query over indexed
columns, so a 3,000-item review answers in milliseconds."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import Select, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from iam_service.adapters import orm
from iam_service.adapters.orm_access import access_request_decisions, access_requests
from iam_service.adapters.orm_reviews import review_items
from iam_service.domain.reviews import (
    ItemDecision,
    ItemFilter,
    Progress,
    Recommendation,
)

_t = review_items
_p = orm.persons
_o = orm.operations_table


def _filtered(
    review_ids: Collection[int], flt: ItemFilter, refs: Collection[str] | None
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [_t.c.review_id.in_(list(review_ids))]
    if flt.status == "open":
        where.append(_t.c.decision.is_(None))
    elif flt.status == "decided":
        where.append(_t.c.decision.is_not(None))
    elif flt.status in ("keep", "revoke"):
        where.append(_t.c.decision == ItemDecision(flt.status))
    if flt.recommendation == "flagged":
        where.append(_t.c.recommendations != "")
    elif flt.recommendation == "none":
        where.append(_t.c.recommendations == "")
    elif flt.recommendation in set(Recommendation):
        where.append(_t.c.recommendations.like(f"%{flt.recommendation},%"))
    if flt.system:
        where.append(_t.c.system_key == flt.system)
    if flt.item_id is not None:
        where.append(_t.c.id == flt.item_id)
    if flt.search:
        term = f"%{flt.search.strip().lower()}%"
        matches = [
            func.lower(_t.c.employee_id).like(term),
            func.lower(_p.c.given_name + literal(" ") + _p.c.family_name).like(term),
            func.lower(_t.c.entitlement_ref).like(term),
        ]
        if refs:
            matches.append(_t.c.entitlement_ref.in_(list(refs)))
        where.append(or_(*matches))
    return where


def _strength() -> ColumnElement[int]:
    # Revoke recommendations first, then the ones to look at, then the rest.
    return case(
        (_t.c.recommendations.like("revoke%"), 0),
        (_t.c.recommendations != "", 1),
        else_=2,
    )


def item_page(
    session: Session,
    review_ids: Collection[int],
    flt: ItemFilter,
    matching_refs: Collection[str] | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """One page of items (with person and operation columns) and the count
    of all items the filter matches."""
    where = _filtered(review_ids, flt, matching_refs)
    base: Select[Any] = select(_t).join(_p, _p.c.id == _t.c.person_id)
    total = session.scalar(
        select(func.count())
        .select_from(_t.join(_p, _p.c.id == _t.c.person_id))
        .where(*where)
    )
    page = max(1, flt.page)
    query = (
        base.add_columns(
            _p.c.given_name,
            _p.c.family_name,
            _p.c.title,
            _o.c.status.label("operation_status"),
            _o.c.finished_at.label("operation_finished_at"),
            _o.c.last_error.label("operation_error"),
            _o.c.attempts.label("operation_attempts"),
        )
        .outerjoin(_o, _o.c.id == _t.c.operation_id)
        .where(*where)
        .order_by(_strength(), _t.c.employee_id, _t.c.entitlement_ref, _t.c.id)
        .limit(flt.per_page)
        .offset((page - 1) * flt.per_page)
    )
    rows = [dict(row._mapping) for row in session.execute(query)]
    return rows, int(total or 0)


def progress(
    session: Session, column: str, keys: Collection[int]
) -> dict[int, Progress]:
    """Progress per review (``column="review_id"``) or per campaign."""
    if not keys:
        return {}
    group = _t.c[column]
    flagged = _t.c.recommendations != ""
    query = (
        select(
            group,
            func.count(),
            func.count(_t.c.decision),
            func.sum(case((_t.c.decision == ItemDecision.KEEP, 1), else_=0)),
            func.sum(case((_t.c.decision == ItemDecision.REVOKE, 1), else_=0)),
            func.sum(case((flagged, 1), else_=0)),
            func.sum(case((and_(flagged, _t.c.decision.is_(None)), 1), else_=0)),
        )
        .where(group.in_(list(keys)))
        .group_by(group)
    )
    found = {}
    for key, total, decided, kept, revoked, flag, flag_open in session.execute(query):
        found[int(key)] = Progress(
            total=int(total),
            decided=int(decided),
            kept=int(kept or 0),
            revoked=int(revoked or 0),
            flagged=int(flag or 0),
            flagged_open=int(flag_open or 0),
        )
    return found


def requests_behind(
    session: Session, source_refs: Sequence[str]
) -> Mapping[str, dict[str, Any]]:
    """The access requests grants came from (by ``source_ref``), with who
    asked and who approved each step."""
    ids = sorted({int(r) for r in source_refs if r and r.isdigit()})
    if not ids:
        return {}
    q, d = access_requests, access_request_decisions
    found: dict[str, dict[str, Any]] = {}
    for row in session.execute(select(q).where(q.c.id.in_(ids))):
        found[str(row.id)] = {
            "id": row.id,
            "requested_by": row.requested_by,
            "requested_by_employee_id": row.requested_by_employee_id,
            "requested_at": row.created_at,
            "department": row.department_code,
            "justification": row.justification,
            "approvers": [],
        }
    steps = select(d).where(d.c.request_id.in_(ids)).order_by(d.c.request_id, d.c.step)
    for row in session.execute(steps):
        found[str(row.request_id)]["approvers"].append(
            {
                "by": row.decided_by,
                "employee_id": row.decided_by_employee_id,
                "as": row.approver,
                "decision": str(row.decision),
                "at": row.at,
            }
        )
    return found
