"""Drift: what a system really has against what policy and grants say.

The managed entitlements of a system are the catalogue's entitlements of
that system; groups the catalogue does not name are not the service's and
are ignored. For each account read from the system:

* **unexpected**: a managed entitlement held without an effective grant
  (granted by hand, outside the service); removed where the policy's
  ``reconciliation`` section says so (8.2, 8.3);
* **missing**: an effective grant whose entitlement the account lacks;
  provisioned again;
* **orphan**: an account that matches no account we know and no person
  (5.16, 5.18: nobody is answerable for it);
* **unlinked**: an account we do not know, of a person we do know (made by
  hand, or before the service);
* **terminated_enabled**: an enabled account of a terminated person.

Pure: the service feeds account states and an index of expected state.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class FindingKind(enum.StrEnum):
    UNEXPECTED = "unexpected"
    MISSING = "missing"
    ORPHAN = "orphan"
    UNLINKED = "unlinked"
    TERMINATED_ENABLED = "terminated_enabled"


class FindingAction(enum.StrEnum):
    REPORTED = "reported"  # policy says report only
    WOULD_REMOVE = "would_remove"  # a dry run: what --apply would do
    WOULD_ADD = "would_add"
    REMOVAL_QUEUED = "removal_queued"
    ADDITION_QUEUED = "addition_queued"


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class DriftRule(BaseModel):
    """What to do about drift in one system or one entitlement; unset keys
    fall back to the wider setting."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    remove_unexpected: bool | None = None
    reprovision_missing: bool | None = None


class ReconciliationPolicy(BaseModel):
    """The ``reconciliation`` section of the policy. The most specific
    setting wins: entitlement, then system, then the section's own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # How often the scheduler reconciles each approved system.
    every_hours: float = Field(default=24, gt=0, le=24 * 31)
    remove_unexpected: bool = False
    reprovision_missing: bool = True
    systems: dict[str, DriftRule] = Field(default_factory=dict)
    entitlements: dict[str, DriftRule] = Field(default_factory=dict)

    def removes(self, ref: str) -> bool:
        return self._decide(ref, "remove_unexpected")

    def reprovisions(self, ref: str) -> bool:
        return self._decide(ref, "reprovision_missing")

    def _decide(self, ref: str, name: str) -> bool:
        system = ref.split(":", 1)[0]
        for rule in (self.entitlements.get(ref), self.systems.get(system)):
            value = getattr(rule, name) if rule is not None else None
            if value is not None:
                return bool(value)
        return bool(getattr(self, name))

    def reference_problems(
        self, catalogue: set[str]
    ) -> list[tuple[tuple[str | int, ...], str]]:
        return [
            (
                ("reconciliation", "entitlements", ref),
                f"reconciliation names unknown entitlement {ref!r}",
            )
            for ref in self.entitlements
            if ref not in catalogue
        ]


@dataclass(frozen=True, slots=True)
class Expected:
    """What the service expects of one account: compact, shared by the
    many accounts with the same entitlements (``groups`` is interned)."""

    account_id: int
    person_id: int
    employee_id: str
    terminated: bool
    groups: frozenset[str]  # case-folded entitlement keys


@dataclass(frozen=True, slots=True)
class Observed:
    """One account as the system has it (from ``AccountState``)."""

    native_id: str
    username: str
    employee_id: str | None
    enabled: bool
    groups: frozenset[str]  # case-folded


@dataclass(frozen=True, slots=True)
class Finding:
    kind: FindingKind
    observed: Observed
    expected: Expected | None = None
    key: str | None = None  # the case-folded entitlement key, for drift


def compare(
    observed: Observed,
    expected: Expected | None,
    managed: Mapping[str, str],
    known_person: bool,
) -> list[Finding]:
    """The findings for one account. ``managed`` maps case-folded keys of the
    system's catalogue entitlements to their refs; ``known_person`` says
    whether the account's employee id is a person's."""
    if expected is None:
        kind = FindingKind.UNLINKED if known_person else FindingKind.ORPHAN
        return [Finding(kind, observed)]
    found = []
    if expected.terminated and observed.enabled:
        found.append(Finding(FindingKind.TERMINATED_ENABLED, observed, expected))
    held = observed.groups & managed.keys()
    for key in sorted(held - expected.groups):
        found.append(Finding(FindingKind.UNEXPECTED, observed, expected, key))
    for key in sorted(expected.groups - observed.groups):
        found.append(Finding(FindingKind.MISSING, observed, expected, key))
    return found


@dataclass(eq=False)
class ReconcileRun:
    """One reconciliation of one system, with its counts."""

    system_key: str
    started_at: datetime
    actor: str
    apply: bool
    status: RunStatus = RunStatus.RUNNING
    finished_at: datetime | None = None
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    id: int | None = None

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "system": self.system_key,
            "status": str(self.status),
            "apply": self.apply,
            "actor": self.actor,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "counts": dict(self.counts),
            "error": self.error,
        }


@dataclass(eq=False)
class ReconcileItem:
    """One finding of a run, and what was done about it."""

    run_id: int
    kind: FindingKind
    action: FindingAction
    username: str
    native_id: str
    employee_id: str | None = None
    entitlement_ref: str | None = None
    account_id: int | None = None
    operation_id: int | None = None
    id: int | None = None

    def view(self) -> dict[str, Any]:
        return {
            "kind": str(self.kind),
            "action": str(self.action),
            "username": self.username,
            "native_id": self.native_id,
            "employee_id": self.employee_id,
            "entitlement": self.entitlement_ref,
            "account_id": self.account_id,
            "operation_id": self.operation_id,
        }
