"""The access review policy (5.18): when campaigns run, what they cover,
who reviews, by when, and what happens to what nobody decided.

It is the ``access_reviews`` section of the policy files
(``policies/reviews.yaml``), validated like the rest: unknown keys are
refused and every error names its file and line.

A campaign definition's ``schedule`` is an interval and an anchor: the first
start (a local date and time in ``IAM_TIMEZONE``), then every ``every``
after it. ``next_start``/``latest_start`` compute occurrences; months are
added on the calendar (31 January + 1 month = 28/29 February).
"""

from __future__ import annotations

import calendar
import enum
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, StrictStr, model_validator

from iam_service.domain.model import Classification

if TYPE_CHECKING:
    from iam_service.domain.policy import Path, Policy

WILDCARD = "*"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Every(enum.StrEnum):
    """How often a scheduled campaign starts."""

    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    HALF_YEAR = "half_year"
    YEAR = "year"


_MONTHS = {Every.MONTH: 1, Every.QUARTER: 3, Every.HALF_YEAR: 6, Every.YEAR: 12}


class UndecidedAction(enum.StrEnum):
    """What happens, at close, to an item nobody decided."""

    KEEP_AND_ESCALATE = "keep_and_escalate"  # kept, reported as escalated
    REVOKE = "revoke"  # least privilege (8.3) as the default


class ApplyAt(enum.StrEnum):
    """When revocations go to the operation queue."""

    SIGN_OFF = "at_sign_off"  # as each reviewer signs off
    CLOSE = "at_close"  # all together when the campaign closes


class OwnAccess(enum.StrEnum):
    """Who reviews a reviewer's own access (5.3: never the reviewer)."""

    MANAGER = "manager"  # the reviewer's manager, else the security officer
    SECURITY_OFFICER = "security_officer"


class Schedule(_Strict):
    every: Every
    # The first start, a local date; later starts follow every ``every``.
    anchor: date
    # Local time of day, "HH:MM" (quoted: YAML reads 10:30 as a number).
    at: StrictStr = Field(default="09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")

    def start_time(self) -> time:
        hours, minutes = self.at.split(":")
        return time(int(hours), int(minutes))

    def occurrence(self, index: int, zone: ZoneInfo) -> datetime:
        """The ``index``-th start (0 is the anchor), as an aware datetime."""
        if self.every is Every.WEEK:
            day = self.anchor + timedelta(weeks=index)
        else:
            day = _add_months(self.anchor, index * _MONTHS[self.every])
        return datetime.combine(day, self.start_time(), zone)

    def latest_start(self, now: datetime, zone: ZoneInfo) -> datetime | None:
        """The last start at or before ``now``; None before the anchor."""
        if now < self.occurrence(0, zone):
            return None
        low, high = 0, 1
        while self.occurrence(high, zone) <= now:  # gallop, then bisect
            low, high = high, high * 2
        while high - low > 1:
            middle = (low + high) // 2
            if self.occurrence(middle, zone) <= now:
                low = middle
            else:
                high = middle
        return self.occurrence(low, zone)

    def next_start(self, now: datetime, zone: ZoneInfo) -> datetime:
        """The first start after ``now``."""
        latest = self.latest_start(now, zone)
        if latest is None:
            return self.occurrence(0, zone)
        index = 0
        while self.occurrence(index, zone) <= latest:
            index += 1
        return self.occurrence(index, zone)


def _add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


class Scope(_Strict):
    """What a campaign covers: ``*`` is everything."""

    departments: tuple[str, ...] = (WILDCARD,)
    systems: tuple[str, ...] = (WILDCARD,)
    classifications: tuple[Classification, ...] = tuple(Classification)

    def covers_department(self, code: str) -> bool:
        return WILDCARD in self.departments or code in self.departments

    def covers_system(self, key: str) -> bool:
        return WILDCARD in self.systems or key in self.systems


class Reviewers(_Strict):
    # 8.2: privileged entitlements are also reviewed by the security officer.
    privileged_by_security_officer: bool = True
    own_access: OwnAccess = OwnAccess.MANAGER


class Reminders(_Strict):
    # Days before the due time a reviewer who has not signed off is reminded.
    before_due_days: tuple[int, ...] = (7, 2)
    # Days after the due time the security officer is told (0: at due).
    escalate_after_due_days: tuple[int, ...] = (0, 3)

    @model_validator(mode="after")
    def _sane(self) -> Reminders:
        for name in ("before_due_days", "escalate_after_due_days"):
            days: tuple[int, ...] = getattr(self, name)
            if any(d < 0 for d in days) or len(set(days)) != len(days):
                raise ValueError(f"{name}: whole days, each once, none negative")
        return self


class CampaignDef(_Strict):
    """One kind of campaign; the scheduler starts it, or a security officer."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    name: str = Field(min_length=1)
    name_ja: str | None = None
    schedule: Schedule | None = None  # None: started by hand only
    scope: Scope = Field(default_factory=Scope)
    reviewers: Reviewers = Field(default_factory=Reviewers)
    due_days: int = Field(default=14, ge=1, le=365)
    reminders: Reminders = Field(default_factory=Reminders)
    # Days after the due time the campaign closes by itself.
    close_after_due_days: int = Field(default=7, ge=0, le=365)
    undecided: UndecidedAction = UndecidedAction.KEEP_AND_ESCALATE
    apply_revocations: ApplyAt = ApplyAt.SIGN_OFF

    @model_validator(mode="after")
    def _reminders_fit(self) -> CampaignDef:
        late = [d for d in self.reminders.before_due_days if d >= self.due_days]
        if late:
            raise ValueError(
                f"a reminder {late[0]} days before the due time would come before "
                f"the campaign starts (due_days is {self.due_days})"
            )
        return self

    def label(self, language: str) -> str:
        return self.name_ja if language == "ja" and self.name_ja else self.name


class Recommendations(_Strict):
    # "revoke: no sign-in for N days", where the system reports sign-ins.
    inactive_days: int = Field(default=90, ge=7, le=3650)


class ReviewPolicy(_Strict):
    campaigns: tuple[CampaignDef, ...] = ()
    recommendations: Recommendations = Field(default_factory=Recommendations)

    def campaign(self, campaign_id: str) -> CampaignDef | None:
        return next((c for c in self.campaigns if c.id == campaign_id), None)

    def reference_problems(self, policy: Policy) -> list[tuple[Path, str]]:
        """Departments and systems a campaign names must exist."""
        problems: list[tuple[Path, str]] = []
        codes = {d.code for d in policy.departments} | {WILDCARD}
        systems = {e.system_key for e in policy.entitlements} | {WILDCARD}
        seen: set[str] = set()
        for i, campaign in enumerate(self.campaigns):
            where: Path = ("access_reviews", "campaigns", i)
            if campaign.id in seen:
                problems.append((where, f"campaign {campaign.id!r} is defined twice"))
            seen.add(campaign.id)
            for j, code in enumerate(campaign.scope.departments):
                if code not in codes:
                    problems.append(
                        (
                            (*where, "scope", "departments", j),
                            f"campaign {campaign.id!r}: unknown department {code!r}",
                        )
                    )
            for j, key in enumerate(campaign.scope.systems):
                if key not in systems:
                    problems.append(
                        (
                            (*where, "scope", "systems", j),
                            f"campaign {campaign.id!r}: no entitlement in the "
                            f"catalogue is on system {key!r}",
                        )
                    )
        return problems
