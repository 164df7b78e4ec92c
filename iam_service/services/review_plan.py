"""What a campaign needs to know besides the tables, worked out once per
campaign (a few hundred rows at most, handed to the set-based insert):
the entitlements in scope with their catalogue names, each position's
birthright, and the SoD findings of people holding two members of a rule."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select

from iam_service.adapters import orm
from iam_service.domain.entitlements import held_roles, sod_conflicts
from iam_service.domain.model import GrantStatus, PersonStatus
from iam_service.domain.policy import Policy
from iam_service.domain.review_policy import CampaignDef
from iam_service.services.unit_of_work import UnitOfWork


def catalogue(
    uow: UnitOfWork, policy: Policy, definition: CampaignDef
) -> dict[str, dict[str, object]]:
    """The entitlements in scope as the catalogue names them; a granted ref
    the catalogue lacks keeps the name its system knows (flagged)."""
    scope = definition.scope
    found: dict[str, dict[str, object]] = {}
    for e in policy.entitlements:
        if scope.covers_system(e.system_key) and e.classification in (
            scope.classifications
        ):
            found[e.ref] = {
                "name": e.name,
                "name_ja": e.name_ja,
                "description": e.description,
                "privileged": e.privileged,
                "classification": str(e.classification),
                "in_catalogue": True,
            }
    granted = uow.session.scalars(
        select(orm.grants.c.entitlement_ref)
        .where(orm.grants.c.status == GrantStatus.ACTIVE)
        .distinct()
    )
    for ref in granted:
        system, key = ref.split(":", 1)
        if ref in found or policy.entitlement(ref) or not scope.covers_system(system):
            continue
        known = uow.entitlements.get(system, key)
        found[ref] = {
            "name": known.name if known else key,
            "name_ja": None,
            "description": known.description if known else "",
            "privileged": bool(known and known.privileged),
            "classification": None,
            "in_catalogue": False,
        }
    return found


def birthright_rows(uow: UnitOfWork, policy: Policy) -> list[tuple[str, str, str, str]]:
    p = orm.persons
    positions = uow.session.execute(
        select(p.c.department_code, p.c.title, p.c.employment_type)
        .where(p.c.status == PersonStatus.ACTIVE)
        .distinct()
    )
    rows = []
    for department, title, employment in positions:
        born = policy.birthright_for(department, title, employment)
        rows += [(department, title, str(employment), ref) for ref in born.entitlements]
    return rows


def sod_rows(
    uow: UnitOfWork, policy: Policy, now: datetime
) -> list[tuple[int, str, str, str]]:
    """People holding two members of an SoD rule: under an exception
    ("exception") or without one ("conflict"), per entitlement (5.3)."""
    members = {ref for rule in policy.sod_rules for ref in rule.entitlements} | {
        ref
        for rule in policy.sod_rules
        for role_id in rule.roles
        if (role := policy.role(role_id))
        for ref in role.entitlements
    }
    g = orm.grants
    held: dict[int, set[str]] = defaultdict(set)
    rows = uow.session.execute(
        select(g.c.person_id, g.c.entitlement_ref).where(
            g.c.status == GrantStatus.ACTIVE,
            g.c.entitlement_ref.in_(sorted(members)),
            (g.c.expires_at.is_(None)) | (g.c.expires_at > now),
        )
    )
    for person_id, ref in rows:
        held[person_id].add(ref)
    found: dict[tuple[int, str], tuple[str, set[str]]] = {}
    for person_id, refs in held.items():
        if len(refs) < 2:
            continue
        roles = held_roles(refs, policy)
        exceptions = uow.sod_exceptions.for_person(person_id)
        unexcepted = {
            c.rule_id
            for c in sod_conflicts(refs, roles, policy.sod_rules, exceptions, now)
        }
        for conflict in sod_conflicts(refs, roles, policy.sod_rules):
            kind = "conflict" if conflict.rule_id in unexcepted else "exception"
            for ref in _refs_of(conflict.members, policy):
                current = found.get((person_id, ref), (kind, set()))
                strongest = "conflict" if "conflict" in (kind, current[0]) else kind
                found[(person_id, ref)] = (strongest, current[1] | {conflict.rule_id})
    return [(p, r, k, ",".join(sorted(rules))) for (p, r), (k, rules) in found.items()]


def _refs_of(members: Iterable[str], policy: Policy) -> set[str]:
    refs: set[str] = set()
    for member in members:
        if member.startswith("role:"):
            role = policy.role(member.removeprefix("role:"))
            refs |= set(role.entitlements) if role else set()
        else:
            refs.add(member)
    return refs
