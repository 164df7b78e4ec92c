"""HR events: the one input format for hires, transfers and terminations.

The webhook, the CSV import and the inbound SCIM endpoint all turn what they
receive into an ``HrEvent``; validation lives here so the three agree.
"""

from __future__ import annotations

import enum
import re
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from iam_service.domain.model import EmploymentType

EMPLOYEE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class HrEventType(enum.StrEnum):
    HIRE = "hire"
    UPDATE = "update"
    TERMINATE = "terminate"
    REHIRE = "rehire"


class HrEventStatus(enum.StrEnum):
    APPLIED = "applied"  # the person record changed and operations are queued
    SCHEDULED = "scheduled"  # applied, with part of the effect at a later time
    STALE = "stale"  # older than what is already applied; recorded, not applied
    NO_CHANGE = "no_change"  # valid, but the person already looked like this


class Employee(BaseModel):
    """The person as HR describes them. Only ``employee_id`` is always needed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    employee_id: str = Field(pattern=EMPLOYEE_ID_PATTERN)
    given_name: str | None = Field(default=None, min_length=1, max_length=100)
    family_name: str | None = Field(default=None, min_length=1, max_length=100)
    email: str | None = Field(default=None, max_length=254)
    department: str | None = Field(default=None, min_length=1, max_length=64)
    title: str | None = Field(default=None, min_length=1, max_length=128)
    manager_employee_id: str | None = Field(default=None, pattern=EMPLOYEE_ID_PATTERN)
    employment_type: EmploymentType | None = None

    @field_validator("email")
    @classmethod
    def _email_shape(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.match(value):
            raise ValueError("is not an e-mail address")
        return value.lower() if value else value


_REQUIRED_FOR_JOINERS = ("given_name", "family_name", "email", "department", "title")


class HrEvent(BaseModel):
    """One event from HR. ``event_id`` makes delivery idempotent."""

    model_config = ConfigDict(extra="forbid")

    event_id: str = Field(min_length=1, max_length=128)
    type: HrEventType
    effective_at: datetime | None = None
    urgent: bool = False
    employee: Employee

    @field_validator("effective_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("needs a time zone (e.g. 2026-04-01T09:00:00+09:00)")
        return value

    @model_validator(mode="after")
    def _complete_for_type(self) -> HrEvent:
        if self.type in (HrEventType.HIRE, HrEventType.REHIRE):
            missing = [
                f for f in _REQUIRED_FOR_JOINERS if getattr(self.employee, f) is None
            ]
            if missing:
                raise ValueError(
                    f"a {self.type} needs employee.{', employee.'.join(missing)}"
                )
        if self.employee.manager_employee_id == self.employee.employee_id:
            raise ValueError("an employee cannot be their own manager")
        return self
