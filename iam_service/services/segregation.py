"""Keeping segregation of duties true after a change (5.3).

Requests and policy activations refuse to create a conflict. Two changes
cannot be refused and can still create one: a transfer (HR decides the new
job, and its birthright comes with it) and the security officer revoking an
exception. After either, ``end_conflicting_requests`` ends the requested
grants that take part in a conflict nobody excepted, through the queue and
audited: the birthright of the job stays, the extra right goes."""

from __future__ import annotations

from iam_service.domain.entitlements import (
    SodConflict,
    effective_entitlements,
    held_roles,
    sod_conflicts,
)
from iam_service.domain.model import GrantSource, Person
from iam_service.domain.policy import Policy
from iam_service.services.provisioning import Provisioner, Systems
from iam_service.services.unit_of_work import UnitOfWork


def end_conflicting_requests(
    uow: UnitOfWork,
    person: Person,
    policy: Policy,
    systems: Systems,
    *,
    actor: str,
    cause: str,
) -> list[SodConflict]:
    """End the person's requested grants in unexcepted conflicts; returns
    the conflicts found (before ending them)."""
    now = uow.clock.now()
    grants = uow.grants.active_for_person(person.id or 0)
    held = effective_entitlements(grants, now)
    conflicts = sod_conflicts(
        held,
        held_roles(held, policy),
        policy.sod_rules,
        uow.sod_exceptions.for_person(person.id or 0),
        now,
    )
    if not conflicts:
        return []
    members: set[str] = set()
    for conflict in conflicts:
        for member in conflict.members:
            role = policy.role(member[5:]) if member.startswith("role:") else None
            members |= set(role.entitlements) if role else {member}
    provisioner = Provisioner(uow, policy, systems, actor=actor, cause=cause)
    before = provisioner.held_refs(person)
    rules = ", ".join(c.rule_id for c in conflicts)
    for grant in grants:
        if (
            grant.source is GrantSource.REQUEST
            and grant.entitlement_ref in members
            and grant.is_effective(now)
        ):
            provisioner.remove_grant(person, grant, f"SoD rule(s) {rules} (5.3)")
    uow.flush()
    provisioner.sync_memberships(person, before, provisioner.held_refs(person))
    return conflicts
