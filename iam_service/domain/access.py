"""Access requests: the rules, free of I/O (5.3, 5.10, 5.16, 5.18, 8.2, 8.3).

A person, or their department head for them, asks for an entitlement or a
role beyond birthright, with a justification and an optional end date. The
request walks the approval chain the policy gives for its classification
(a privileged entitlement always adds the security officer). Each step is
decided by someone holding that step's role; nobody decides a step of their
own request, of a request that grants them rights, or two steps of one
request (5.3). The service (``services/access_requests.py``) stores and
provisions; this module says what is allowed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from iam_service.domain.model import Classification
from iam_service.domain.policy import Approver, Policy
from iam_service.domain.security import Role

_LEVEL = {c: i for i, c in enumerate(Classification)}  # public < ... < strictly


class RequestStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class ItemKind(enum.StrEnum):
    ENTITLEMENT = "entitlement"
    ROLE = "role"


class Decision(enum.StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"
    # The department head made the request: their application is the
    # department's word (5.16), and the next step goes to someone else.
    APPLIED = "applied"


class AccessRuleError(ValueError):
    """A request or decision the rules refuse; ``field`` names the input."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class RequestInvalid(AccessRuleError):
    """The input itself is wrong (unknown item, past end date, ...)."""


class RequestRefused(AccessRuleError):
    """Valid input that the state refuses (already held, not pending, ...)."""


class DecisionRefused(AccessRuleError):
    """This principal may not take this step (not their role or department)."""


class SegregationRefused(DecisionRefused):
    """5.3: the decider asked for it, benefits from it, or decided before."""


class AccessRequestCreate(BaseModel):
    """``POST /api/v1/access-requests``: who for, what, why, until when."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    employee_id: str = Field(min_length=1, max_length=64)
    kind: ItemKind = ItemKind.ENTITLEMENT
    item: str = Field(min_length=1, max_length=600)
    justification: str = Field(min_length=1, max_length=2000)
    # The last day of access (in the organisation's time zone); optional
    # unless the entitlement has a maximum duration.
    end_date: date | None = None


class SodExceptionCreate(BaseModel):
    """``POST /api/v1/sod-exceptions``: the security officer's exception."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    employee_id: str = Field(min_length=1, max_length=64)
    rule_id: str = Field(min_length=1, max_length=100)
    reason: str = Field(min_length=1, max_length=2000)
    end_date: date  # the last day it holds; an exception always expires


@dataclass(eq=False)
class AccessRequest:
    """One request; ``chain`` lists ``Approver`` values, ``step`` the one waiting."""

    person_id: int
    employee_id: str  # the beneficiary
    department_code: str  # the beneficiary's department when asked
    kind: ItemKind
    item: str  # an entitlement ref or a role id
    entitlement_refs: list[str]
    justification: str
    classification: Classification
    privileged: bool
    chain: list[str]
    requested_by: str
    created_at: datetime
    requested_by_employee_id: str | None = None
    ends_at: datetime | None = None  # when the grant expires
    status: RequestStatus = RequestStatus.PENDING
    step: int = 0
    decided_at: datetime | None = None
    outcome_reason: str = ""
    updated_at: datetime | None = None
    id: int | None = None

    @property
    def waiting_for(self) -> Approver | None:
        if self.status is not RequestStatus.PENDING or self.step >= len(self.chain):
            return None
        return Approver(self.chain[self.step])


@dataclass(eq=False)
class RequestDecision:
    """One decided step of a request, kept for the audit and the console."""

    request_id: int
    step: int
    approver: str
    decision: Decision
    decided_by: str
    at: datetime
    decided_by_employee_id: str | None = None
    reason: str = ""
    id: int | None = None


@dataclass(frozen=True)
class RequestedItem:
    """What asking for ``item`` means under the policy."""

    kind: ItemKind
    item: str
    name: str
    refs: tuple[str, ...]
    classification: Classification
    privileged: bool
    max_duration_days: int | None
    chain: tuple[Approver, ...] = field(default=())


def resolve_item(policy: Policy, kind: ItemKind, item: str) -> RequestedItem:
    """The entitlements, classification and chain of a requested item; an
    unknown or non-requestable item is refused (5.16: only what the policy
    offers can be asked for)."""
    if kind is ItemKind.ENTITLEMENT:
        entitlement = policy.entitlement(item)
        if entitlement is None:
            raise RequestInvalid(f"unknown entitlement {item!r}", field="item")
        if not entitlement.requestable:
            raise RequestInvalid(f"{item} cannot be requested", field="item")
        defs = [entitlement]
        name = entitlement.name
    else:
        role = policy.role(item)
        if role is None:
            raise RequestInvalid(f"unknown role {item!r}", field="item")
        if not role.requestable or not role.entitlements:
            raise RequestInvalid(f"role {item!r} cannot be requested", field="item")
        defs = [e for ref in role.entitlements if (e := policy.entitlement(ref))]
        if not all(e.requestable for e in defs):
            raise RequestInvalid(
                f"role {item!r} bundles an entitlement that cannot be requested",
                field="item",
            )
        name = role.name
    level = max((e.classification for e in defs), key=_LEVEL.__getitem__)
    privileged = any(e.privileged for e in defs)
    limits = [e.max_duration_days for e in defs if e.max_duration_days]
    return RequestedItem(
        kind=kind,
        item=item,
        name=name,
        refs=tuple(e.ref for e in defs),
        classification=level,
        privileged=privileged,
        max_duration_days=min(limits) if limits else None,
        chain=policy.approval_chains.chain(level, privileged),
    )


def end_of_day(
    end_date: date | None,
    now: datetime,
    zone: ZoneInfo,
    *,
    max_days: int | None,
    what: str,
) -> datetime | None:
    """When something whose last day is ``end_date`` (local time) ends: the
    start of the next day. The end must not be past and must lie within
    ``max_days``, which also makes an end date required."""
    today = now.astimezone(zone).date()
    if end_date is None:
        if max_days:
            raise RequestInvalid(
                f"{what} needs an end date, at most {max_days} days ahead",
                field="end_date",
            )
        return None
    if end_date < today:
        raise RequestInvalid(
            f"the end date {end_date} is in the past", field="end_date"
        )
    if max_days and end_date > today + timedelta(days=max_days):
        raise RequestInvalid(
            f"{what} may run for at most {max_days} days "
            f"(until {today + timedelta(days=max_days)})",
            field="end_date",
        )
    ends = datetime.combine(end_date + timedelta(days=1), time(), zone)
    return ends.astimezone(now.tzinfo)


def head_step_decider(
    head: str | None, beneficiary: str, beneficiary_manager: str | None
) -> str | None:
    """Who decides the department-head step: the head of the beneficiary's
    department, or, when the head asks for themselves, their own manager."""
    if head is None:
        return None
    if head != beneficiary:
        return head
    return beneficiary_manager if beneficiary_manager not in (None, head) else None


@dataclass(frozen=True)
class Decider:
    """Who takes a step: actor name, employee id (if a person), roles."""

    actor: str
    employee_id: str | None
    roles: frozenset[Role]


def check_decider(
    request: AccessRequest,
    decider: Decider,
    head_decider: str | None,
    decisions: list[RequestDecision],
) -> Approver:
    """The step ``decider`` may decide now, or ``DecisionRefused`` saying why."""
    approver = request.waiting_for
    if approver is None:
        raise RequestRefused(f"request {request.id} is {request.status}")
    if decider.employee_id is None:
        raise DecisionRefused(
            "a decision needs a principal tied to a person (an employee id), "
            "so that segregation of duties can be checked (5.3)"
        )
    if decider.employee_id == request.employee_id:
        raise SegregationRefused(
            "nobody approves a request that grants them rights (5.3)"
        )
    if decider.actor == request.requested_by or (
        decider.employee_id == request.requested_by_employee_id
    ):
        raise SegregationRefused("nobody approves their own request (5.3)")
    if any(
        decider.employee_id == d.decided_by_employee_id or decider.actor == d.decided_by
        for d in decisions
    ):
        raise SegregationRefused(
            "each step of a request is decided by a different person (5.3)"
        )
    if approver is Approver.DEPARTMENT_HEAD:
        if decider.employee_id != head_decider:
            raise DecisionRefused(
                f"this step waits for the head of department "
                f"{request.department_code} ({head_decider or 'none set'})"
            )
    elif Role(approver) not in decider.roles:
        raise DecisionRefused(f"this step waits for the {approver} role")
    return approver


def may_cancel(request: AccessRequest, actor: str, employee_id: str | None) -> None:
    """The requester (or the beneficiary) may withdraw a pending request."""
    if request.status is not RequestStatus.PENDING:
        raise RequestRefused(f"request {request.id} is {request.status}")
    mine = actor == request.requested_by or (
        employee_id is not None
        and employee_id in (request.requested_by_employee_id, request.employee_id)
    )
    if not mine:
        raise DecisionRefused("only the requester or the beneficiary may cancel")
