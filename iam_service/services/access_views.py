"""Who may see an access request, how one is shown, and how the domain's
refusals become service errors."""

from __future__ import annotations

from typing import Any

from iam_service.domain import access as rules
from iam_service.domain.access import AccessRequest, RequestDecision
from iam_service.domain.security import Role
from iam_service.services.auth import Principal
from iam_service.services.errors import (
    ConflictError,
    Forbidden,
    InvalidInput,
    ServiceError,
)
from iam_service.services.errors import (  # re-exported: reviews, elevations
    SegregationOfDutiesError as SegregationOfDutiesError,
)
from iam_service.services.unit_of_work import UnitOfWork

# Readers of every request: they approve (sysadmin, security officer) or
# audit (5.35); department heads see their departments' only.
READ_ALL = (Role.SYSADMIN, Role.SECURITY_OFFICER, Role.AUDITOR)


def rule_error(error: rules.AccessRuleError) -> ServiceError:
    """422 for bad input, 409 for a refusing state, 403 for a wrong decider."""
    if isinstance(error, rules.RequestInvalid):
        return InvalidInput(str(error), field=error.field)
    if isinstance(error, rules.SegregationRefused):
        return SegregationOfDutiesError(str(error))
    if isinstance(error, rules.DecisionRefused):
        return Forbidden(str(error))
    return ConflictError(str(error), field=error.field)


def visible(uow: UnitOfWork, request: AccessRequest, who: Principal) -> bool:
    if who.has(*READ_ALL) or who.actor == request.requested_by:
        return True
    me = who.employee_id
    if me is None:
        return False
    if me in (request.employee_id, request.requested_by_employee_id):
        return True
    if request.department_code in uow.departments.headed_by(me):
        return True
    person = uow.persons.get(request.person_id)  # a head's manager decides for them
    return person is not None and person.manager_employee_id == me


def request_view(
    request: AccessRequest, decisions: list[RequestDecision] | None
) -> dict[str, Any]:
    """The API's shape of a request; ``decisions`` only in the detail view."""
    waiting = request.waiting_for
    view: dict[str, Any] = {
        "id": request.id,
        "employee_id": request.employee_id,
        "department": request.department_code,
        "kind": str(request.kind),
        "item": request.item,
        "entitlements": list(request.entitlement_refs),
        "classification": str(request.classification),
        "privileged": request.privileged,
        "justification": request.justification,
        "end_at": request.ends_at.isoformat() if request.ends_at else None,
        "status": str(request.status),
        "chain": list(request.chain),
        "waiting_for": str(waiting) if waiting else None,
        "requested_by": request.requested_by,
        "requested_by_employee_id": request.requested_by_employee_id,
        "created_at": request.created_at.isoformat(),
        "decided_at": request.decided_at.isoformat() if request.decided_at else None,
        "outcome_reason": request.outcome_reason,
    }
    if decisions is not None:
        view["decisions"] = [
            {
                "step": d.step,
                "approver": d.approver,
                "decision": str(d.decision),
                "decided_by": d.decided_by,
                "decided_by_employee_id": d.decided_by_employee_id,
                "reason": d.reason,
                "at": d.at.isoformat(),
            }
            for d in decisions
        ]
    return view
