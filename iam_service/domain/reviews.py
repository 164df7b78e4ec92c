"""Access review campaigns (5.18): the entities and the rules, free of I/O.

A *campaign* covers the grants in its scope at the moment it starts. It
holds one *review* per reviewer: a department head's review of their
department, the review of a head's own access by their manager (or the
security officer: nobody reviews their own access, 5.3), the security
officer's review of privileged access (8.2), and reviews handed on by
delegation. A review holds *items*: one grant each, with the context the
reviewer needs (where it came from, since when, last sign-in) and the
recommendation (``review_rules``). The reviewer keeps or revokes each item
(a revoke needs a comment) and signs off; revocations go through the
operation queue (at sign-off or at close, as the policy says), each
verified by read-back. At close the undecided items are kept and escalated,
or revoked, and the campaign is sealed with the audit chain (ADR 0017).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any


class CampaignStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class ReviewStatus(enum.StrEnum):
    OPEN = "open"
    SIGNED_OFF = "signed_off"
    CLOSED = "closed"  # the campaign closed before the reviewer signed off


class ReviewerKind(enum.StrEnum):
    DEPARTMENT_HEAD = "department_head"
    MANAGER = "manager"  # a head's own access goes to the head's manager
    SECURITY_OFFICER = "security_officer"  # privileged access; fallbacks
    DELEGATE = "delegate"  # handed on by another reviewer


class ItemDecision(enum.StrEnum):
    KEEP = "keep"
    REVOKE = "revoke"


class ApplyState(enum.StrEnum):
    """Where a revocation stands; the verified result is the operation's."""

    WAITING = "waiting"  # decided; applied at sign-off or close
    QUEUED = "queued"  # grant ended, REMOVE_FROM_GROUP queued (operation_id)
    NO_CHANGE = "no_change"  # grant ended; nothing to remove (see apply_note)
    ALREADY_ENDED = "already_ended"  # the grant had ended before (HR, expiry)


class Recommendation(enum.StrEnum):
    """Why an item deserves attention. The value is the i18n key's tail."""

    REVOKE_INACTIVE = "revoke_inactive"
    LOOK_OUTSIDE_BIRTHRIGHT = "look_outside_birthright"
    LOOK_PRIVILEGED = "look_privileged"
    LOOK_SOD_EXCEPTION = "look_sod_exception"
    LOOK_SOD_CONFLICT = "look_sod_conflict"

    @property
    def i18n_key(self) -> str:
        return f"reviews.recommendation.{self.value}"

    @property
    def is_revoke(self) -> bool:
        return self is Recommendation.REVOKE_INACTIVE


@dataclass(eq=False)
class Campaign:
    """One run of a campaign definition from the policy."""

    definition_id: str
    name: str
    period_key: str  # unique: one scheduled start per occurrence
    started_at: datetime
    started_by: str
    due_at: datetime
    closes_at: datetime
    definition: dict[str, Any]  # the CampaignDef as it was at the start
    catalogue: dict[str, Any]  # ref -> name, name_ja, description, privileged
    name_ja: str | None = None
    # "revoke: no sign-in for N days": N as the policy said at the start.
    inactive_days: int = 90
    status: CampaignStatus = CampaignStatus.OPEN
    items_total: int = 0
    closed_at: datetime | None = None
    closed_by: str | None = None
    # Evidence (ADR 0017): the digest of every item at close, and the audit
    # record that carries it: its sequence number and hash.
    items_digest: str | None = None
    evidence_seq: int | None = None
    evidence_hash: str | None = None
    id: int | None = None

    def is_overdue(self, now: datetime) -> bool:
        return self.status is CampaignStatus.OPEN and self.due_at <= now


@dataclass(eq=False)
class Review:
    """One reviewer's share of a campaign. ``reviewer_employee_id`` is None
    for the security officer's review: any security officer decides it."""

    campaign_id: int
    reviewer_kind: ReviewerKind
    created_at: datetime
    department_code: str | None = None
    reviewer_employee_id: str | None = None
    delegated_from: str | None = None  # the employee id who handed it on
    note: str = ""  # why it is routed here ("department X has no head")
    status: ReviewStatus = ReviewStatus.OPEN
    signed_off_at: datetime | None = None
    signed_off_by: str | None = None
    id: int | None = None


@dataclass(eq=False)
class ReviewItem:
    """One grant before one reviewer. The context is a snapshot taken when
    the campaign started; the decision and its application follow."""

    campaign_id: int
    review_id: int
    grant_id: int
    person_id: int
    employee_id: str
    department_code: str
    entitlement_ref: str
    system_key: str
    grant_source: str
    granted_at: datetime
    grant_source_ref: str | None = None
    privileged: bool = False
    in_birthright: bool = False
    last_sign_in_at: datetime | None = None
    sign_in_reported: bool = False
    sod: str | None = None  # "exception" / "conflict"
    sod_rules: str = ""  # the SoD rule ids, comma-separated
    recommendations: str = ""  # Recommendation values, comma-separated
    decision: ItemDecision | None = None
    comment: str = ""
    decided_by: str | None = None
    decided_by_employee_id: str | None = None
    decided_at: datetime | None = None
    escalated: bool = False
    apply_state: ApplyState | None = None
    applied_at: datetime | None = None
    operation_id: int | None = None
    apply_note: str = ""
    id: int | None = None

    @property
    def recommendation_list(self) -> list[Recommendation]:
        return [Recommendation(r) for r in self.recommendations.split(",") if r]


@dataclass(eq=False)
class Delegation:
    """A reviewer handed (part of) a review to someone else, on record."""

    campaign_id: int
    from_review_id: int
    to_review_id: int
    from_employee_id: str | None
    to_employee_id: str
    delegated_by: str  # the actor
    at: datetime
    reason: str
    items_moved: int = 0
    id: int | None = None


class NotificationKind(enum.StrEnum):
    """Mails of a campaign, queued in the mail outbox once per step."""

    REMINDER = "reminder"  # to a reviewer who has not signed off
    ESCALATION = "escalation"  # to the security officer, once overdue


@dataclass(frozen=True)
class Progress:
    """How far a review (or a campaign) has come."""

    total: int = 0
    decided: int = 0
    kept: int = 0
    revoked: int = 0
    flagged: int = 0  # items carrying a recommendation
    flagged_open: int = 0

    @property
    def open(self) -> int:
        return self.total - self.decided

    @property
    def percent(self) -> int:
        return 100 if not self.total else (100 * self.decided) // self.total

    def as_dict(self) -> dict[str, int]:
        return {
            "total": self.total,
            "decided": self.decided,
            "open": self.open,
            "kept": self.kept,
            "revoked": self.revoked,
            "flagged": self.flagged,
            "flagged_open": self.flagged_open,
            "percent": self.percent,
        }


@dataclass(frozen=True)
class ItemFilter:
    """What the review page asks for: one page of items."""

    status: str = "open"  # open | decided | all
    recommendation: str = "any"  # any | flagged | none | <Recommendation>
    search: str = ""  # employee id, name or entitlement
    system: str | None = None
    page: int = 1
    per_page: int = 50
    item_id: int | None = None  # just this one (a row re-drawn after a decision)
