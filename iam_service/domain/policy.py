"""The organisation's access policy as typed data, and its evaluation.

Files in ``policies/`` are parsed by ``iam_service.adapters.policy_files``
into these models; unknown keys are refused so that a typo never silently
changes who gets access. Evaluation is pure: a person's attributes in, the
roles, entitlements and account systems they are born with out.

Birthright follows 5.16 and 8.3: the minimum a job needs, decided by
department, title and employment type. A department the policy does not know
gets nothing (it is never guessed) and is flagged to the administrators.

Beyond birthright the policy says what may be asked for (``requestable``,
``max_duration_days``), who approves it (``approval_chains`` per 5.10
classification), which rights must never be held together (``sod_rules``,
5.3) and a few ``settings``. A birthright that would break an SoD rule is a
policy error: the organisation's own rules never create a conflict.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from iam_service.domain.elevation import ElevationPolicy
from iam_service.domain.entitlements import SodConflict, sod_conflicts
from iam_service.domain.model import Classification, EmploymentType
from iam_service.domain.offboarding import OffboardingPolicy
from iam_service.domain.operations import OperationKind
from iam_service.domain.password_rules import PasswordRules
from iam_service.domain.privileged import PrivilegedPolicy
from iam_service.domain.reconciliation import ReconciliationPolicy
from iam_service.domain.review_policy import ReviewPolicy

WILDCARD = "*"
Path = tuple[str | int, ...]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EntitlementDef(_Strict):
    """One entry of the entitlement catalogue: ``ref`` is ``system:key``."""

    ref: str = Field(pattern=r"^[a-z][a-z0-9_-]*:.+$")
    name: str = Field(min_length=1)
    name_ja: str | None = None
    description: str = ""
    privileged: bool = False
    classification: Classification = Classification.INTERNAL
    # May people ask for it (5.16)? Baselines and elevation-only rights say no.
    requestable: bool = True
    # The longest a requested grant may run; None: no limit (an end is optional).
    max_duration_days: int | None = Field(default=None, ge=1, le=3650)

    @property
    def system_key(self) -> str:
        return self.ref.split(":", 1)[0]

    @property
    def key(self) -> str:
        return self.ref.split(":", 1)[1]


class RoleDef(_Strict):
    """A bundle of entitlements across systems, granted as one."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    name: str = Field(min_length=1)
    name_ja: str | None = None
    description: str = ""
    entitlements: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()  # systems where holders need an account
    requestable: bool = True


class DepartmentDef(_Strict):
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1)
    name_ja: str | None = None
    head_employee_id: str | None = None


class RuleMatch(_Strict):
    """Which people a birthright rule applies to; ``*`` matches anything."""

    department: str = WILDCARD
    titles: tuple[str, ...] = ()
    # Everyone but these titles (a manager who approves must not also enter).
    except_titles: tuple[str, ...] = ()
    employment_types: tuple[EmploymentType, ...] = ()

    def matches(self, department: str, title: str, employment: EmploymentType) -> bool:
        if self.department not in (WILDCARD, department):
            return False
        if self.titles and title not in self.titles:
            return False
        if title in self.except_titles:
            return False
        return not self.employment_types or employment in self.employment_types


class BirthrightRule(_Strict):
    when: RuleMatch
    roles: tuple[str, ...] = Field(min_length=1)


class SodRule(_Strict):
    """5.3: entitlements and roles nobody may hold two of at once.

    A pair is the usual case ("payment entry vs payment approval"); a longer
    list forbids any two of its members together. A role is held when every
    entitlement it bundles is held."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    name: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    entitlements: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _two_members(self) -> SodRule:
        members = [*self.entitlements, *(f"role:{r}" for r in self.roles)]
        if len(members) < 2:
            raise ValueError("an SoD rule names at least two entitlements or roles")
        if len(set(members)) != len(members):
            raise ValueError("an SoD rule names a member twice")
        return self


class Approver(enum.StrEnum):
    """Who decides a step of an access request (values are security roles)."""

    DEPARTMENT_HEAD = "department_head"
    SYSADMIN = "sysadmin"
    SECURITY_OFFICER = "security_officer"


_HEAD_THEN_ADMIN = (Approver.DEPARTMENT_HEAD, Approver.SYSADMIN)


class ApprovalChains(_Strict):
    """The approvers of a request, in order, per 5.10 classification of what
    it grants. A privileged entitlement always adds the security officer (8.2)."""

    public: tuple[Approver, ...] = _HEAD_THEN_ADMIN
    internal: tuple[Approver, ...] = _HEAD_THEN_ADMIN
    strictly_confidential: tuple[Approver, ...] = (
        *_HEAD_THEN_ADMIN,
        Approver.SECURITY_OFFICER,
    )

    @model_validator(mode="after")
    def _sane(self) -> ApprovalChains:
        for level in Classification:
            chain = self.for_level(level)
            if len(set(chain)) != len(chain):
                raise ValueError(f"{level}: an approver is named twice")
            # 5.16, 5.18: rights are granted by the system administrator.
            if Approver.SYSADMIN not in chain:
                raise ValueError(f"{level}: the chain must include sysadmin (5.18)")
        return self

    def for_level(self, level: Classification) -> tuple[Approver, ...]:
        chain: tuple[Approver, ...] = getattr(self, str(level))
        return chain

    def chain(self, level: Classification, privileged: bool) -> tuple[Approver, ...]:
        chain = self.for_level(level)
        if privileged and Approver.SECURITY_OFFICER not in chain:
            chain = (*chain, Approver.SECURITY_OFFICER)
        return chain


class PolicySettings(_Strict):
    # Movers: days the new department head has to keep or remove the grants
    # a person brought from the old department (5.18); then they go.
    mover_review_days: int = Field(default=14, ge=1, le=365)
    # 8.32: a new policy version that removes access from more than this
    # share of the people needs the security officer's approval.
    removal_share_needing_security_officer: float = Field(default=0.05, gt=0, le=1)


class Policy(_Strict):
    """The whole active policy. Cross-references are checked on creation."""

    entitlements: tuple[EntitlementDef, ...] = ()
    roles: tuple[RoleDef, ...] = ()
    departments: tuple[DepartmentDef, ...] = ()
    birthright: tuple[BirthrightRule, ...] = ()
    # Leaver steps per system key; "default" applies to the others (5.18).
    leaver_steps: dict[str, tuple[OperationKind, ...]] = Field(default_factory=dict)
    sod_rules: tuple[SodRule, ...] = ()
    approval_chains: ApprovalChains = Field(default_factory=ApprovalChains)
    settings: PolicySettings = Field(default_factory=PolicySettings)
    # 5.18: periodic access review campaigns (domain/review_policy.py).
    access_reviews: ReviewPolicy = Field(default_factory=ReviewPolicy)
    # 5.11, 5.18, 7.2: offboarding cases (domain/offboarding.py).
    offboarding: OffboardingPolicy = Field(default_factory=OffboardingPolicy)
    # 8.2, 8.18: time-boxed elevation and break-glass (domain/elevation.py).
    elevation: ElevationPolicy = Field(default_factory=ElevationPolicy)
    # Drift between systems and grants (domain/reconciliation.py).
    reconciliation: ReconciliationPolicy = Field(default_factory=ReconciliationPolicy)
    # 8.2, 5.18: admin positions and password rotation (domain/privileged.py).
    privileged: PrivilegedPolicy = Field(default_factory=PrivilegedPolicy)
    # 5.17, 8.5: rules for every password chosen or generated.
    passwords: PasswordRules = Field(default_factory=PasswordRules)

    @model_validator(mode="after")
    def _references_resolve(self, info: ValidationInfo) -> Policy:
        # The file loader checks references itself, to point at the line.
        if not (info.context or {}).get("defer_references"):
            problems = self.reference_problems()
            if problems:
                raise ValueError(problems[0][1])
        return self

    def reference_problems(self) -> list[tuple[Path, str]]:
        """Cross-references that do not resolve, each with where it is."""
        problems: list[tuple[Path, str]] = []
        for what, items in (
            ("entitlement", [e.ref for e in self.entitlements]),
            ("role", [r.id for r in self.roles]),
            ("department", [d.code for d in self.departments]),
        ):
            section = {"entitlement": "entitlements", "role": "roles"}.get(
                what, "departments"
            )
            seen: set[str] = set()
            for index, value in enumerate(items):
                if value in seen:
                    problems.append(
                        ((section, index), f"{what} {value!r} is defined twice")
                    )
                seen.add(value)
        refs = {e.ref for e in self.entitlements}
        for i, role in enumerate(self.roles):
            for j, ref in enumerate(role.entitlements):
                if ref not in refs:
                    problems.append(
                        (
                            ("roles", i, "entitlements", j),
                            f"role {role.id!r} names unknown entitlement {ref!r}",
                        )
                    )
        role_ids = {r.id for r in self.roles}
        codes = {d.code for d in self.departments} | {WILDCARD}
        for i, rule in enumerate(self.birthright):
            for j, role_id in enumerate(rule.roles):
                if role_id not in role_ids:
                    problems.append(
                        (
                            ("birthright", i, "roles", j),
                            f"birthright rule names unknown role {role_id!r}",
                        )
                    )
            if rule.when.department not in codes:
                problems.append(
                    (
                        ("birthright", i, "when", "department"),
                        f"unknown department {rule.when.department!r}",
                    )
                )
        problems += self._sod_rule_problems(refs, role_ids)
        problems += self.access_reviews.reference_problems(self)
        problems += self.reconciliation.reference_problems(refs)
        if not problems:  # the check below needs resolving references
            problems += self._birthright_sod_problems()
        return problems

    def _sod_rule_problems(
        self, refs: set[str], role_ids: set[str]
    ) -> list[tuple[Path, str]]:
        problems: list[tuple[Path, str]] = []
        seen: set[str] = set()
        for i, rule in enumerate(self.sod_rules):
            if rule.id in seen:
                problems.append((("sod_rules", i), f"SoD rule {rule.id!r} twice"))
            seen.add(rule.id)
            for j, ref in enumerate(rule.entitlements):
                if ref not in refs:
                    problems.append(
                        (
                            ("sod_rules", i, "entitlements", j),
                            f"SoD rule {rule.id!r} names unknown entitlement {ref!r}",
                        )
                    )
            for j, role_id in enumerate(rule.roles):
                role = self.role(role_id)
                if role_id not in role_ids or role is None:
                    message = f"SoD rule {rule.id!r} names unknown role {role_id!r}"
                elif not role.entitlements:
                    message = f"role {role_id!r} bundles no entitlement to conflict"
                elif overlap := _implied(role, rule, self):
                    message = (
                        f"role {role_id!r} already includes {overlap!r}: holding "
                        "the role alone would break the rule"
                    )
                else:
                    continue
                problems.append((("sod_rules", i, "roles", j), message))
        return problems

    def _birthright_sod_problems(self) -> list[tuple[Path, str]]:
        """A birthright combination that breaks an SoD rule is an error (5.3):
        every reachable department/title/employment position is checked."""
        found: dict[Path, str] = {}
        for department, title, employment in self._positions():
            born = self.birthright_for(department, title, employment)
            for conflict in sod_conflicts(
                born.entitlements, born.roles, self.sod_rules
            ):
                index = self._rule_completing(department, title, employment, conflict)
                who = f"{department} {title or 'any other title'!r} {employment}"
                found.setdefault(
                    ("birthright", index),
                    f"birthright gives {who} {' and '.join(conflict.members)}, which "
                    f"SoD rule {conflict.rule_id!r} forbids ({conflict.reason}); "
                    "a birthright never breaks SoD",
                )
        return list(found.items())

    def _positions(self) -> Iterator[tuple[str, str, EmploymentType]]:
        titles = {
            t for r in self.birthright for t in (*r.when.titles, *r.when.except_titles)
        }
        for department in self.departments:
            for title in (*sorted(titles), ""):  # "": a title no rule names
                for employment in EmploymentType:
                    yield department.code, title, employment

    def _rule_completing(
        self, department: str, title: str, employment: EmploymentType, c: SodConflict
    ) -> int:
        """The last matching birthright rule that gives a conflicting member."""
        last = 0
        for i, rule in enumerate(self.birthright):
            if not rule.when.matches(department, title, employment):
                continue
            given = self.expand_roles(rule.roles)
            members = given.entitlements | {f"role:{r}" for r in given.roles}
            if members & set(c.members):
                last = i
        return last

    def leaver_steps_for(
        self, system_key: str, default: tuple[OperationKind, ...]
    ) -> tuple[OperationKind, ...]:
        return self.leaver_steps.get(
            system_key, self.leaver_steps.get("default", default)
        )

    def knows_department(self, code: str) -> bool:
        return any(d.code == code for d in self.departments)

    def entitlement(self, ref: str) -> EntitlementDef | None:
        return next((e for e in self.entitlements if e.ref == ref), None)

    def role(self, role_id: str) -> RoleDef | None:
        return next((r for r in self.roles if r.id == role_id), None)

    def department(self, code: str) -> DepartmentDef | None:
        return next((d for d in self.departments if d.code == code), None)

    def sod_rule(self, rule_id: str) -> SodRule | None:
        return next((r for r in self.sod_rules if r.id == rule_id), None)

    def birthright_for(
        self, department: str, title: str, employment: EmploymentType
    ) -> Birthright:
        """What a person in this position is born with (5.16, 8.3)."""
        if not self.knows_department(department):
            return Birthright(
                roles=frozenset(), entitlements=frozenset(), systems=frozenset()
            )
        role_ids = {
            role_id
            for rule in self.birthright
            if rule.when.matches(department, title, employment)
            for role_id in rule.roles
        }
        return self.expand_roles(role_ids)

    def expand_roles(self, role_ids: Iterable[str]) -> Birthright:
        roles = [r for r in self.roles if r.id in set(role_ids)]
        entitlements = frozenset(ref for r in roles for ref in r.entitlements)
        systems = frozenset(s for r in roles for s in r.accounts) | frozenset(
            ref.split(":", 1)[0] for ref in entitlements
        )
        return Birthright(
            roles=frozenset(r.id for r in roles),
            entitlements=entitlements,
            systems=systems,
        )


@dataclass(frozen=True)
class Birthright:
    roles: frozenset[str]
    entitlements: frozenset[str]  # entitlement refs, ``system:key``
    systems: frozenset[str]  # systems where the person needs an account


def _implied(role: RoleDef, rule: SodRule, policy: Policy) -> str | None:
    """A member of ``rule`` that holding ``role`` alone already implies."""
    mine = set(role.entitlements)
    for ref in rule.entitlements:
        if ref in mine:
            return ref
    for other_id in rule.roles:
        other = policy.role(other_id)
        if (
            other_id != role.id
            and other
            and other.entitlements
            and set(other.entitlements) <= mine
        ):
            return f"role:{other_id}"
    return None
