"""What a policy would change, person by person (8.32: changes are planned).

``plan_policy`` compares what everyone holds now (their grants) with what
they would hold if a policy became active: its birthright plus every grant
that does not come from birthright. It is what activating the policy does
to the grants, computed without writing anything, for the whole population.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from iam_service.domain.entitlements import (
    GrantFact,
    SodException,
    effective_entitlements,
    held_roles,
    sod_conflicts,
)
from iam_service.domain.model import (
    EmploymentType,
    Grant,
    GrantSource,
    Person,
    PersonStatus,
)
from iam_service.domain.policy import Birthright, Policy


@dataclass(frozen=True)
class Holding:
    """One person as a plan sees them: their position, active grants, the
    systems where they have a live account, and their SoD exceptions."""

    employee_id: str
    department_code: str
    title: str
    employment_type: EmploymentType
    status: PersonStatus
    grants: Sequence[GrantFact]
    systems: frozenset[str] = frozenset()
    exceptions: Sequence[SodException] = ()

    @classmethod
    def of(
        cls,
        person: Person,
        grants: Iterable[Grant],
        systems: Iterable[str] = (),
        exceptions: Sequence[SodException] = (),
    ) -> Holding:
        return cls(
            person.employee_id,
            person.department_code,
            person.title,
            person.employment_type,
            person.status,
            [
                GrantFact(g.entitlement_ref, g.source, g.status, g.expires_at)
                for g in grants
            ],
            frozenset(systems),
            exceptions,
        )


@dataclass(frozen=True)
class PersonChange:
    employee_id: str
    granted: tuple[str, ...]
    removed: tuple[str, ...]
    new_accounts: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()  # SoD rules the new holdings break
    # Birthright grants differ from the new birthright (even where the
    # person holds the same through other grants): activation re-syncs them.
    resync: bool = False

    @property
    def visible(self) -> bool:
        return bool(self.granted or self.removed or self.new_accounts)


@dataclass(frozen=True)
class PolicyPlan:
    """The difference for everyone not terminated (the population)."""

    population: int
    changes: tuple[PersonChange, ...]
    by_entitlement: dict[str, dict[str, int]] = field(default_factory=dict)
    resync: tuple[str, ...] = ()  # employee ids whose birthright to re-sync

    @property
    def people_losing_access(self) -> int:
        return sum(1 for c in self.changes if c.removed)

    @property
    def removal_share(self) -> float:
        return self.people_losing_access / self.population if self.population else 0.0

    @property
    def conflicts(self) -> list[tuple[str, str]]:
        """``(employee_id, rule_id)`` for each SoD conflict the plan creates."""
        return [(c.employee_id, rule) for c in self.changes for rule in c.conflicts]

    def summary(self) -> dict[str, Any]:
        """The diff summary kept with a policy version."""
        return {
            "population": self.population,
            "people_changed": len(self.changes),
            "people_gaining_access": sum(1 for c in self.changes if c.granted),
            "people_losing_access": self.people_losing_access,
            "removal_share": round(self.removal_share, 6),
            "grants_added": sum(len(c.granted) for c in self.changes),
            "grants_removed": sum(len(c.removed) for c in self.changes),
            "by_entitlement": self.by_entitlement,
            "sod_conflicts": len(self.conflicts),
        }

    def as_dict(self) -> dict[str, Any]:
        return self.summary() | {
            "changes": [
                {
                    "employee_id": c.employee_id,
                    "granted": list(c.granted),
                    "removed": list(c.removed),
                    "new_accounts": list(c.new_accounts),
                    "sod_conflicts": list(c.conflicts),
                }
                for c in self.changes
            ]
        }


def plan_person(
    holding: Holding, policy: Policy, now: datetime, born: Birthright | None = None
) -> PersonChange:
    """One person's difference if ``policy`` became active (``born``: their
    birthright under it, when the caller already has it)."""
    grants = holding.grants
    if born is None:
        born = policy.birthright_for(
            holding.department_code, holding.title, holding.employment_type
        )
    held = effective_entitlements(grants, now)
    kept = effective_entitlements(
        (g for g in grants if g.source is not GrantSource.BIRTHRIGHT), now
    )
    birthright_grants = {
        g.entitlement_ref for g in grants if g.source is GrantSource.BIRTHRIGHT
    }
    after = kept | born.entitlements
    # Every conflict, not only new ones: a new rule may forbid what people
    # already hold, and no conflict may exist unexcepted (5.3).
    conflicts = sod_conflicts(
        after, held_roles(after, policy), policy.sod_rules, holding.exceptions, now
    )
    new_accounts = tuple(sorted(born.systems - holding.systems))
    return PersonChange(
        employee_id=holding.employee_id,
        granted=tuple(sorted(after - held)),
        removed=tuple(sorted(held - after)),
        new_accounts=new_accounts,
        conflicts=tuple(c.rule_id for c in conflicts),
        resync=birthright_grants != born.entitlements or bool(new_accounts),
    )


def plan_policy(
    holdings: Iterable[Holding], policy: Policy, now: datetime
) -> PolicyPlan:
    """The plan for everyone in ``holdings``; terminated people are left
    out, they hold nothing."""
    population = 0
    changes: list[PersonChange] = []
    resync: list[str] = []
    added: Counter[str] = Counter()
    removed: Counter[str] = Counter()
    born: dict[tuple[str, str, EmploymentType], Birthright] = {}
    for holding in holdings:
        if holding.status is PersonStatus.TERMINATED:
            continue
        population += 1
        position = (holding.department_code, holding.title, holding.employment_type)
        if position not in born:  # few positions, many people
            born[position] = policy.birthright_for(*position)
        change = plan_person(holding, policy, now, born[position])
        if change.resync:
            resync.append(change.employee_id)
        if change.visible or change.conflicts:
            changes.append(change)
            added.update(change.granted)
            removed.update(change.removed)
    by_entitlement = {
        ref: {"granted": added[ref], "removed": removed[ref]}
        for ref in sorted(added.keys() | removed.keys())
    }
    return PolicyPlan(population, tuple(changes), by_entitlement, tuple(resync))
