"""What a person holds, and which segregation-of-duties rules that breaks.

The two questions every part of the service asks (HR provisioning, access
requests, policy plans, reconciliation) are answered here, once:

* ``effective_entitlements(grants, now)``: the entitlement refs a person
  holds: their birthright grants plus every other grant that is active and
  not expired, whatever its source (request, review, elevation);
* ``sod_conflicts(entitlement_refs, roles, rules, exceptions, now)``: the
  5.3 rules those holdings break, less the ones the security officer
  excepted for this person until a time still ahead;
* ``introduced_conflicts(held, after, policy, exceptions, now)``: those of
  them a change (a request, a new policy) would create.

Pure functions over domain objects; no I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from iam_service.domain.model import GrantSource, GrantStatus, grant_in_force

if TYPE_CHECKING:
    from iam_service.domain.policy import Policy, SodRule


class HeldGrant(Protocol):
    """What holding needs of a grant: a ``Grant``, or a ``GrantFact`` read
    in bulk without the ORM's bookkeeping (a plan over 100,000 people)."""

    @property
    def entitlement_ref(self) -> str: ...

    def is_effective(self, now: datetime) -> bool: ...


@dataclass(frozen=True)
class GrantFact:
    """A grant's facts, detached and cheap to build."""

    entitlement_ref: str
    source: GrantSource
    status: GrantStatus
    expires_at: datetime | None = None

    def is_effective(self, now: datetime) -> bool:
        return grant_in_force(self.status, self.expires_at, now)


def effective_entitlements(
    grants: Iterable[HeldGrant], now: datetime
) -> frozenset[str]:
    """The refs (``system:key``) the grants give at ``now``: active grants of
    any source whose ``expires_at`` is unset or still ahead. A grant that has
    expired but is not yet removed by the expiry job gives nothing."""
    return frozenset(g.entitlement_ref for g in grants if g.is_effective(now))


def held_roles(entitlement_refs: Collection[str], policy: Policy) -> frozenset[str]:
    """The policy roles a person holds: those whose every entitlement they
    hold, from whatever grants (a role bundling nothing is never held)."""
    held = set(entitlement_refs)
    return frozenset(
        r.id for r in policy.roles if r.entitlements and set(r.entitlements) <= held
    )


@dataclass(eq=False)
class SodException:
    """The security officer's recorded exception (5.3): ``person_id`` may hold
    what ``rule_id`` forbids together, for ``reason``, until ``expires_at``."""

    person_id: int
    employee_id: str
    rule_id: str
    reason: str
    expires_at: datetime
    granted_by: str
    granted_at: datetime
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    id: int | None = None

    def is_effective(self, now: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now


@dataclass(frozen=True)
class SodConflict:
    """One broken rule: which of its members are held together, and why the
    rule exists. Roles appear as ``role:<id>``, entitlements as refs."""

    rule_id: str
    name: str
    reason: str
    members: tuple[str, ...]

    def describe(self) -> str:
        return (
            f"SoD rule {self.rule_id!r} ({self.name}) forbids holding "
            f"{' and '.join(self.members)} together: {self.reason}"
        )


def sod_conflicts(
    entitlement_refs: Collection[str],
    roles: Collection[str],
    rules: Iterable[SodRule],
    exceptions: Iterable[SodException] = (),
    now: datetime | None = None,
) -> list[SodConflict]:
    """The rules broken by holding ``entitlement_refs`` and ``roles`` together.

    ``exceptions`` are the person's exception records; a rule with one that
    is effective at ``now`` (unrevoked, expiring after ``now``) is not
    reported. ``now`` is needed only to judge exceptions. Pass the roles from
    ``held_roles`` (or the birthright's roles) so that a role-based rule sees
    roles however they were granted."""
    excepted = set()
    for exception in exceptions:
        if now is None:
            raise ValueError("judging SoD exceptions needs the current time")
        if exception.is_effective(now):
            excepted.add(exception.rule_id)
    refs, held = set(entitlement_refs), set(roles)
    found = []
    for rule in rules:
        members = (
            *(ref for ref in rule.entitlements if ref in refs),
            *(f"role:{r}" for r in rule.roles if r in held),
        )
        if len(members) >= 2 and rule.id not in excepted:
            found.append(SodConflict(rule.id, rule.name, rule.reason, members))
    return found


def introduced_conflicts(
    held: Collection[str],
    after: Collection[str],
    policy: Policy,
    exceptions: Iterable[SodException] = (),
    now: datetime | None = None,
) -> list[SodConflict]:
    """The conflicts of holding ``after`` that involve something not held
    before (``held``): what a request or a policy change would *create*. A
    conflict already there (an exception that lapsed) is reconciliation's."""
    before, wanted = set(held), set(after)
    roles_before, roles_after = held_roles(before, policy), held_roles(wanted, policy)
    new = (wanted - before) | {f"role:{r}" for r in roles_after - roles_before}
    return [
        c
        for c in sod_conflicts(wanted, roles_after, policy.sod_rules, exceptions, now)
        if new.intersection(c.members)
    ]
