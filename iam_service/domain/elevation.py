"""Time-boxed privileged elevation and break-glass use (8.2, 8.18).

A system administrator asks for a privileged entitlement (one the catalogue
marks ``privileged``) for a number of hours, with a reason. The security
officer approves it (never the one who asked, nor the one who benefits:
5.3); the approval starts the clock. The grant it gives ends on time.

Break-glass is the emergency path Japanese privileged-ID tools such as
iDoperation call an emergency lending (緊急貸出): when the security officer
cannot be reached, an administrator takes the elevation at once, for a
shorter time, with a reason. The security officer ratifies it after the
fact (or refuses it, which ends it at once); until then it is escalated.

Pure rules and records; the use cases are in ``services/elevations.py``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ElevationKind(enum.StrEnum):
    REQUEST = "request"  # asked, approved beforehand
    BREAK_GLASS = "break_glass"  # taken at once, ratified afterwards


class ElevationStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for the security officer
    ACTIVE = "active"  # the grant is in force
    REJECTED = "rejected"  # refused (a break-glass use: ended at once)
    ENDED = "ended"  # ended before its time
    EXPIRED = "expired"  # removed on time by the expiry job


class Ratification(enum.StrEnum):
    """The after-the-fact decision on a break-glass use."""

    PENDING = "pending"
    RATIFIED = "ratified"
    REFUSED = "refused"


class ElevationPolicy(BaseModel):
    """The ``elevation`` section of the policy."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # 8.18: the longest an approved elevation lasts.
    max_hours: float = Field(default=8, gt=0, le=7 * 24)
    # The longest a break-glass use lasts before the officer has seen it.
    break_glass_max_hours: float = Field(default=2, gt=0, le=24)
    # An unratified break-glass use escalates after this grace period ...
    ratify_within_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    # ... and again every this many minutes while it stays unratified.
    escalate_every_minutes: int = Field(default=240, ge=5, le=7 * 24 * 60)

    @model_validator(mode="after")
    def _break_glass_shorter(self) -> ElevationPolicy:
        if self.break_glass_max_hours > self.max_hours:
            raise ValueError("break_glass_max_hours cannot exceed max_hours")
        return self

    def limit(self, kind: ElevationKind) -> float:
        return (
            self.break_glass_max_hours
            if kind is ElevationKind.BREAK_GLASS
            else (self.max_hours)
        )


class ElevationCreate(BaseModel):
    """The body of a request or a break-glass use: what, how long, why."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    entitlement: str = Field(
        min_length=3, max_length=600, examples=["ad:Domain Admins"]
    )
    hours: float = Field(gt=0, le=7 * 24)
    reason: str = Field(min_length=1, max_length=2000)


@dataclass(eq=False)
class Elevation:
    """One elevation: its request, decision, grant and end, and for a
    break-glass use its ratification and escalations."""

    person_id: int
    employee_id: str
    entitlement_ref: str
    kind: ElevationKind
    reason: str
    duration_minutes: int
    requested_by: str
    requested_at: datetime
    requested_by_employee_id: str | None = None
    status: ElevationStatus = ElevationStatus.PENDING
    decided_by: str | None = None
    decided_by_employee_id: str | None = None
    decided_at: datetime | None = None
    decision_reason: str = ""
    starts_at: datetime | None = None
    expires_at: datetime | None = None
    grant_id: int | None = None
    ended_at: datetime | None = None
    ended_by: str | None = None
    end_reason: str = ""
    ratification: Ratification | None = None
    ratified_by: str | None = None
    ratified_at: datetime | None = None
    ratification_reason: str = ""
    escalations: int = 0
    last_escalated_at: datetime | None = None
    updated_at: datetime | None = None
    id: int | None = None

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.duration_minutes)

    def is_active(self, now: datetime) -> bool:
        return (
            self.status is ElevationStatus.ACTIVE
            and self.expires_at is not None
            and self.expires_at > now
        )

    def escalation_due(self, now: datetime, policy: ElevationPolicy) -> bool:
        """An unratified break-glass use past its grace period, not escalated
        within the repeat interval."""
        if self.ratification is not Ratification.PENDING:
            return False
        if now < self.requested_at + timedelta(minutes=policy.ratify_within_minutes):
            return False
        return self.last_escalated_at is None or now >= self.last_escalated_at + (
            timedelta(minutes=policy.escalate_every_minutes)
        )


class ElevationRuleError(ValueError):
    """A rule refused the elevation; ``kind`` picks the HTTP status."""

    def __init__(self, message: str, *, kind: str, field: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind  # "invalid" | "conflict" | "segregation"
        self.field = field


def duration_minutes(hours: float, kind: ElevationKind, policy: ElevationPolicy) -> int:
    """The duration in whole minutes, within the policy's limit for ``kind``."""
    limit = policy.limit(kind)
    if hours > limit:
        what = (
            "a break-glass use"
            if kind is ElevationKind.BREAK_GLASS
            else ("an elevation")
        )
        raise ElevationRuleError(
            f"{what} lasts at most {limit:g} hours (policy elevation section)",
            kind="invalid",
            field="hours",
        )
    minutes = round(hours * 60)
    if minutes < 1:
        raise ElevationRuleError(
            "an elevation lasts at least a minute", kind="invalid", field="hours"
        )
    return minutes


def check_decider(
    elevation: Elevation, actor: str, employee_id: str | None, what: str
) -> None:
    """5.3: nobody approves or ratifies what they asked for or benefit from."""
    own = actor == elevation.requested_by or (
        employee_id is not None
        and employee_id in (elevation.employee_id, elevation.requested_by_employee_id)
    )
    if own:
        raise ElevationRuleError(
            f"nobody {what} their own elevation (5.3)", kind="segregation"
        )
