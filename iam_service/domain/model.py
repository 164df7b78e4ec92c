"""The entities the service keeps: people, departments, systems, accounts,
entitlements and grants.

Plain dataclasses with no I/O; ``iam_service.adapters.orm`` maps them onto
tables. Times are timezone-aware UTC (8.17).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime


class PersonStatus(enum.StrEnum):
    PENDING_START = "pending_start"  # hired, start date still ahead
    ACTIVE = "active"
    TERMINATED = "terminated"


class EmploymentType(enum.StrEnum):
    EMPLOYEE = "employee"
    CONTRACTOR = "contractor"
    TEMPORARY = "temporary"
    INTERN = "intern"


class AccountStatus(enum.StrEnum):
    PLANNED = "planned"  # the create operation has not run yet
    ENABLED = "enabled"
    DISABLED = "disabled"
    DELETED = "deleted"


class GrantSource(enum.StrEnum):
    BIRTHRIGHT = "birthright"
    REQUEST = "request"
    REVIEW = "review"
    ELEVATION = "elevation"


class GrantStatus(enum.StrEnum):
    ACTIVE = "active"
    REMOVED = "removed"


class Classification(enum.StrEnum):
    """5.10: the three levels of information classification."""

    PUBLIC = "public"  # 公開
    INTERNAL = "internal"  # 社外秘
    STRICTLY_CONFIDENTIAL = "strictly_confidential"  # 極秘


@dataclass(eq=False)
class Department:
    code: str
    name: str
    head_employee_id: str | None = None
    known_to_policy: bool = True
    id: int | None = None


@dataclass(eq=False)
class Person:
    """Someone HR reports on. ``employee_id`` is HR's key and never changes."""

    employee_id: str
    given_name: str
    family_name: str
    email: str
    department_code: str
    title: str
    employment_type: EmploymentType = EmploymentType.EMPLOYEE
    manager_employee_id: str | None = None
    status: PersonStatus = PersonStatus.ACTIVE
    start_date: date | None = None
    end_date: date | None = None
    # The effective time of the newest HR event applied; older ones are stale.
    last_event_at: datetime | None = None
    flags: list[str] = field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    id: int | None = None

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    def snapshot(self) -> dict[str, str | None]:
        """The HR attributes, as recorded in audit before/after fields."""
        return {
            "employee_id": self.employee_id,
            "given_name": self.given_name,
            "family_name": self.family_name,
            "email": self.email,
            "department": self.department_code,
            "title": self.title,
            "employment_type": str(self.employment_type),
            "manager_employee_id": self.manager_employee_id,
            "status": str(self.status),
            "start_date": self.start_date.isoformat() if self.start_date else None,
            "end_date": self.end_date.isoformat() if self.end_date else None,
        }


@dataclass(eq=False)
class TargetSystem:
    """A connected system (AD, Entra ID, a SaaS tool, a manual system)."""

    key: str
    kind: str
    name: str
    classification: Classification = Classification.INTERNAL
    purpose: str = ""
    owner: str = ""
    id: int | None = None


@dataclass(eq=False)
class Account:
    """A person's account in one target system.

    ``native_id`` is the system's stable id (objectGUID for AD); it is known
    once the create operation has run. ``status`` is what the service last
    verified by read-back; ``desired_enabled`` is what it wants.
    """

    person_id: int
    system_key: str
    username: str
    native_id: str | None = None
    status: AccountStatus = AccountStatus.PLANNED
    desired_enabled: bool = True
    verified_at: datetime | None = None
    created_at: datetime | None = None
    id: int | None = None


@dataclass(eq=False)
class Entitlement:
    """Something a person can hold in a system: an AD group, an Entra role,
    a SaaS role. ``key`` is the name the connector understands."""

    system_key: str
    key: str
    name: str
    description: str = ""
    privileged: bool = False
    classification: Classification = Classification.INTERNAL
    id: int | None = None

    @property
    def ref(self) -> str:
        return f"{self.system_key}:{self.key}"


@dataclass(eq=False)
class Grant:
    """Why a person holds an entitlement, since when, and until when."""

    person_id: int
    entitlement_ref: str
    source: GrantSource
    granted_at: datetime
    reason: str = ""
    source_ref: str | None = None  # a request id, a campaign item, a role id
    expires_at: datetime | None = None
    status: GrantStatus = GrantStatus.ACTIVE
    removed_at: datetime | None = None
    id: int | None = None

    def is_effective(self, now: datetime) -> bool:
        return grant_in_force(self.status, self.expires_at, now)


def grant_in_force(
    status: GrantStatus, expires_at: datetime | None, now: datetime
) -> bool:
    """An active grant whose end, if any, is still ahead gives its right."""
    return status is GrantStatus.ACTIVE and (expires_at is None or expires_at > now)
