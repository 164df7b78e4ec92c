"""The steps elevations share (``services/elevations.py``): granting the
time-boxed right, ending it, recording decisions, auditing."""

from __future__ import annotations

from iam_service.domain.elevation import Elevation, ElevationStatus, Ratification
from iam_service.domain.entitlements import effective_entitlements
from iam_service.domain.model import Grant, GrantSource, GrantStatus, Person
from iam_service.domain.operations import Priority
from iam_service.domain.policy import Policy
from iam_service.services.auth import Principal
from iam_service.services.lifecycle import LifecycleContext
from iam_service.services.provisioning import Provisioner
from iam_service.services.unit_of_work import UnitOfWork


def activate(
    uow: UnitOfWork,
    elevation: Elevation,
    person: Person,
    policy: Policy,
    ctx: LifecycleContext,
    actor: str,
) -> None:
    """Write the time-boxed grant and queue the group addition (ELEVATED)."""
    now = uow.clock.now()
    held = effective_entitlements(uow.grants.active_for_person(person_id(person)), now)
    grant = Grant(
        person_id=person_id(person),
        entitlement_ref=elevation.entitlement_ref,
        source=GrantSource.ELEVATION,
        granted_at=now,
        reason=elevation.reason,
        source_ref=str(elevation.id),
        expires_at=now + elevation.duration,
    )
    uow.grants.add(grant)
    uow.flush()
    elevation.status, elevation.grant_id = ElevationStatus.ACTIVE, grant.id
    elevation.starts_at, elevation.expires_at = now, grant.expires_at
    elevation.updated_at = now
    uow.record(
        actor,
        "grant.added",
        f"person:{person.employee_id}",
        after={
            "entitlement": grant.entitlement_ref,
            "source": "elevation",
            "elevation": elevation.id,
            "expires_at": grant.expires_at.isoformat() if grant.expires_at else None,
        },
        reason=f"elevation {elevation.id}: {elevation.reason}",
    )
    provisioner = Provisioner(
        uow, policy, ctx.systems, actor=actor, cause=f"elevation:{elevation.id}"
    )
    provisioner.sync_memberships(
        person,
        set(held),
        set(held) | {grant.entitlement_ref},
        priority=Priority.ELEVATED,
    )


def finish(
    uow: UnitOfWork,
    elevation: Elevation,
    policy: Policy,
    ctx: LifecycleContext,
    actor: str,
    why: str,
) -> None:
    """End the grant now and queue the group removal (ELEVATED)."""
    grant = uow.grants.get(elevation.grant_id or 0)
    person = uow.persons.get(elevation.person_id)
    if grant is None or person is None or grant.status is not GrantStatus.ACTIVE:
        return  # already removed (by the expiry job, or the person left)
    provisioner = Provisioner(
        uow, policy, ctx.systems, actor=actor, cause=f"elevation:{elevation.id}:end"
    )
    # What the system holds now: every active grant, one past its end but
    # not yet removed by the expiry job included.
    before = {
        g.entitlement_ref for g in uow.grants.active_for_person(person_id(person))
    }
    provisioner.remove_grant(person, grant, f"elevation {elevation.id} ended: {why}")
    uow.flush()
    provisioner.sync_memberships(
        person, before, provisioner.held_refs(person), priority=Priority.ELEVATED
    )


def decide(uow: UnitOfWork, elevation: Elevation, who: Principal, reason: str) -> None:
    elevation.decided_by, elevation.decided_by_employee_id = who.actor, who.employee_id
    elevation.decided_at = elevation.updated_at = uow.clock.now()
    elevation.decision_reason = reason


def ratify(
    uow: UnitOfWork,
    elevation: Elevation,
    who: Principal,
    outcome: Ratification,
    reason: str,
) -> None:
    elevation.ratification, elevation.ratified_by = outcome, who.actor
    elevation.ratified_at = elevation.updated_at = uow.clock.now()
    elevation.ratification_reason = reason


def audit(
    uow: UnitOfWork, actor: str, action: str, elevation: Elevation, reason: str
) -> None:
    uow.record(
        actor,
        action,
        f"elevation:{elevation.id}",
        after={
            "employee_id": elevation.employee_id,
            "entitlement": elevation.entitlement_ref,
            "kind": str(elevation.kind),
            "status": str(elevation.status),
            "hours": elevation.duration_minutes / 60,
            "expires_at": elevation.expires_at.isoformat()
            if elevation.expires_at
            else None,
            "ratification": str(elevation.ratification)
            if elevation.ratification
            else None,
        },
        reason=reason,
    )


def person_id(person: Person) -> int:
    if person.id is None:
        raise RuntimeError("a stored person has an id")
    return person.id
