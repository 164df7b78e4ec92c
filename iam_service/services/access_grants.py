"""What an approved access request writes, and the checks around it.

``grant_request`` is the last approval's work: re-check SoD (5.3), write
``Grant(source=REQUEST, source_ref=<request id>, expires_at=<end>)`` for
each entitlement (never beyond the SoD exception it needed), and queue the
account and group operations through the ``Provisioner``. ``close`` and
``audit`` keep every status change of a request in the audit trail in one
shape (target ``access_request:<id>``), whoever changes it (the request's
own use cases, a transfer, a termination).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from iam_service.domain.access import AccessRequest, RequestStatus
from iam_service.domain.entitlements import (
    effective_entitlements,
    introduced_conflicts,
)
from iam_service.domain.model import Grant, GrantSource, Person, PersonStatus
from iam_service.domain.policy import Policy
from iam_service.services.errors import ConflictError
from iam_service.services.provisioning import Provisioner, Systems
from iam_service.services.unit_of_work import UnitOfWork


class SodConflictError(ConflictError):
    code = "sod_conflict"


def refuse_conflicts(
    uow: UnitOfWork,
    person: Person,
    policy: Policy,
    held: frozenset[str],
    refs: Collection[str],
) -> None:
    """5.3: refuse what would create a conflict the security officer has
    not excepted for this person (409 naming the rule and its reason)."""
    conflicts = introduced_conflicts(
        held,
        held | set(refs),
        policy,
        uow.sod_exceptions.for_person(person.id or 0),
        uow.clock.now(),
    )
    if conflicts:
        raise SodConflictError(
            f"{conflicts[0].describe()}. The security officer may record an "
            "exception with a reason and an expiry (POST /api/v1/sod-exceptions)",
            field="item",
        )


def grant_request(
    uow: UnitOfWork,
    request: AccessRequest,
    policy: Policy,
    systems: Systems,
    *,
    actor: str,
) -> None:
    """The last approval: grants and their operations, through the queue."""
    person = uow.persons.get(request.person_id)
    if person is None or person.status is PersonStatus.TERMINATED:
        raise ConflictError(f"{request.employee_id} is no longer employed")
    now = uow.clock.now()
    held = effective_entitlements(uow.grants.active_for_person(person.id or 0), now)
    refuse_conflicts(uow, person, policy, held, request.entitlement_refs)
    expires = _capped(uow, person, policy, held, request)
    for ref in request.entitlement_refs:
        uow.grants.add(
            Grant(
                person_id=person.id or 0,
                entitlement_ref=ref,
                source=GrantSource.REQUEST,
                granted_at=now,
                reason=request.justification,
                source_ref=str(request.id),
                expires_at=expires,
            )
        )
        uow.record(
            actor,
            "grant.added",
            f"person:{person.employee_id}",
            after={
                "entitlement": ref,
                "source": "request",
                "request": request.id,
                "expires_at": expires.isoformat() if expires else None,
            },
            reason=f"access request {request.id}",
        )
    uow.flush()
    provisioner = Provisioner(
        uow, policy, systems, actor=actor, cause=f"request:{request.id}"
    )
    provisioner.ensure_accounts(
        person,
        {ref.split(":", 1)[0] for ref in request.entitlement_refs},
        enabled=person.status is PersonStatus.ACTIVE,
    )
    provisioner.sync_memberships(person, set(held), provisioner.held_refs(person))
    close(uow, request, actor, RequestStatus.APPROVED, "")


def _capped(
    uow: UnitOfWork,
    person: Person,
    policy: Policy,
    held: frozenset[str],
    request: AccessRequest,
) -> datetime | None:
    """The grant's end: the request's, or sooner where only an SoD exception
    allows it: a grant never outlives the exception it needed (5.3)."""
    after = held | set(request.entitlement_refs)
    needed = {c.rule_id for c in introduced_conflicts(held, after, policy)}
    if not needed:
        return request.ends_at
    now = uow.clock.now()
    covering: dict[str, datetime] = {}
    for e in uow.sod_exceptions.for_person(person.id or 0):
        if e.rule_id in needed and e.is_effective(now):
            covering[e.rule_id] = max(
                covering.get(e.rule_id, e.expires_at), e.expires_at
            )
    return min(t for t in (request.ends_at, *covering.values()) if t is not None)


def close(
    uow: UnitOfWork,
    request: AccessRequest,
    actor: str,
    status: RequestStatus,
    reason: str,
) -> None:
    request.status, request.outcome_reason = status, reason
    request.decided_at = request.updated_at = uow.clock.now()
    audit(uow, actor, f"access_request.{status}", request, reason)


def audit(
    uow: UnitOfWork, actor: str, action: str, request: AccessRequest, reason: str
) -> None:
    uow.record(
        actor,
        action,
        f"access_request:{request.id}",
        after={
            "employee_id": request.employee_id,
            "item": request.item,
            "entitlements": list(request.entitlement_refs),
            "status": str(request.status),
            "step": request.step,
            "chain": list(request.chain),
        },
        reason=reason,
    )
