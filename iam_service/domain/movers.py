"""Movers (5.18): what a transferred person keeps from the old department.

Birthright follows the new department at once (HR intake). Grants a person
obtained on request are not the new department's decision, so each becomes
a review for the new department head: keep it, or remove it. Whatever is not
decided by the deadline (policy ``settings.mover_review_days``) is removed
by a scheduled job: least privilege (8.3) is the default, not the exception.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class MoverReviewStatus(enum.StrEnum):
    OPEN = "open"
    KEPT = "kept"
    REMOVED = "removed"  # the new department head removed it
    EXPIRED = "expired"  # nobody decided in time; removed by the job
    CLOSED = "closed"  # the grant ended anyway (expiry, termination, next move)


class MoverDecision(enum.StrEnum):
    KEEP = "keep"
    REMOVE = "remove"


@dataclass(eq=False)
class MoverReview:
    """One requested grant a transfer put before the new department head."""

    person_id: int
    employee_id: str
    grant_id: int
    entitlement_ref: str
    from_department: str
    to_department: str
    created_at: datetime
    due_at: datetime
    cause: str = ""
    status: MoverReviewStatus = MoverReviewStatus.OPEN
    decided_by: str | None = None
    decided_at: datetime | None = None
    reason: str = ""
    id: int | None = None

    def is_overdue(self, now: datetime) -> bool:
        return self.status is MoverReviewStatus.OPEN and self.due_at <= now
