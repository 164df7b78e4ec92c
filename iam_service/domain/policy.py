"""The organisation's access policy as typed data, and its evaluation.

Files in ``policies/`` are parsed by ``iam_service.adapters.policy_files``
into these models; unknown keys are refused so that a typo never silently
changes who gets access. Evaluation is pure: a person's attributes in, the
roles, entitlements and account systems they are born with out.

Birthright follows 5.16 and 8.3: the minimum a job needs, decided by
department, title and employment type. A department the policy does not know
gets nothing (it is never guessed) and is flagged to the administrators.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from iam_service.domain.model import Classification, EmploymentType
from iam_service.domain.operations import OperationKind

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


class DepartmentDef(_Strict):
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1)
    name_ja: str | None = None
    head_employee_id: str | None = None


class RuleMatch(_Strict):
    """Which people a birthright rule applies to; ``*`` matches anything."""

    department: str = WILDCARD
    titles: tuple[str, ...] = ()
    employment_types: tuple[EmploymentType, ...] = ()

    def matches(self, department: str, title: str, employment: EmploymentType) -> bool:
        if self.department not in (WILDCARD, department):
            return False
        if self.titles and title not in self.titles:
            return False
        return not self.employment_types or employment in self.employment_types


class BirthrightRule(_Strict):
    when: RuleMatch
    roles: tuple[str, ...] = Field(min_length=1)


class Policy(_Strict):
    """The whole active policy. Cross-references are checked on creation."""

    entitlements: tuple[EntitlementDef, ...] = ()
    roles: tuple[RoleDef, ...] = ()
    departments: tuple[DepartmentDef, ...] = ()
    birthright: tuple[BirthrightRule, ...] = ()
    # Leaver steps per system key; "default" applies to the others (5.18).
    leaver_steps: dict[str, tuple[OperationKind, ...]] = Field(default_factory=dict)

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
        return problems

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
