"""The rules of an access review, as pure functions (5.3, 5.18, 8.2, 8.3).

* ``recommend``: why an item deserves a look, or a revoke (ADR 0016);
* ``route``: who reviews a grant (nobody reviews their own access, 5.3);
* ``check_decision`` / ``check_reviewer``: what a decision needs;
* ``due_steps``: the reminders and escalations whose time has come;
* ``items_digest``: the fingerprint of every decision, sealed at close.

The recommendation rules exist twice: here, over one item's facts, and as
SQL in ``adapters/review_items_sql.py`` for the 200,000-row bulk insert.
``tests/integration/test_review_campaigns.py`` checks they agree.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from iam_service.domain.review_policy import CampaignDef, OwnAccess
from iam_service.domain.reviews import (
    Campaign,
    ItemDecision,
    NotificationKind,
    Recommendation,
    Review,
    ReviewerKind,
    ReviewItem,
    ReviewStatus,
)

# The reason each recommendation gives, in the console's two languages; the
# console's locale files carry the same text under ``Recommendation.i18n_key``.
REASONS: Mapping[Recommendation, Mapping[str, str]] = {
    Recommendation.REVOKE_INACTIVE: {
        "en": "revoke: no sign-in for {days} days",
        "ja": "削除を推奨: {days}日間サインインなし",
    },
    Recommendation.LOOK_OUTSIDE_BIRTHRIGHT: {
        "en": "look: outside this person's birthright",
        "ja": "要確認: この人の職務に基づく標準権限の外",
    },
    Recommendation.LOOK_PRIVILEGED: {
        "en": "look: privileged",
        "ja": "要確認: 特権",
    },
    Recommendation.LOOK_SOD_EXCEPTION: {
        "en": "look: SoD exception",
        "ja": "要確認: 職務分掌の例外",
    },
    Recommendation.LOOK_SOD_CONFLICT: {
        "en": "look: breaks a segregation-of-duties rule, no exception",
        "ja": "要確認: 職務分掌ルール違反(例外なし)",
    },
}


def reason(rec: Recommendation, language: str = "en", *, days: int = 90) -> str:
    text = REASONS[rec].get(language) or REASONS[rec]["en"]
    return text.format(days=days)


@dataclass(frozen=True)
class ItemFacts:
    """What the recommendation looks at, for one grant of one person."""

    privileged: bool
    in_birthright: bool
    # Granted on a request made while the person was in their current
    # department: a documented, approved exception to birthright.
    requested_here: bool
    sign_in_reported: bool  # the system reports sign-ins for this account
    last_sign_in: datetime | None
    account_created_at: datetime | None
    sod: str | None  # "exception" / "conflict" / None


def recommend(
    facts: ItemFacts, now: datetime, inactive_days: int
) -> list[Recommendation]:
    """The recommendations for one item, strongest first.

    * revoke: the account has not signed in for ``inactive_days`` (or never,
      and it is older than that), where the system reports sign-ins;
    * look: outside the birthright and not from a request approved in the
      person's current department (leftovers of a transfer, stale grants);
    * look: privileged (8.2);
    * look: held under an SoD exception, or breaking an SoD rule (5.3).
    """
    found = []
    cutoff = now - timedelta(days=inactive_days)
    if facts.sign_in_reported and (
        (facts.last_sign_in is not None and facts.last_sign_in < cutoff)
        or (
            facts.last_sign_in is None
            and facts.account_created_at is not None
            and facts.account_created_at < cutoff
        )
    ):
        found.append(Recommendation.REVOKE_INACTIVE)
    if not facts.in_birthright and not facts.requested_here:
        found.append(Recommendation.LOOK_OUTSIDE_BIRTHRIGHT)
    if facts.privileged:
        found.append(Recommendation.LOOK_PRIVILEGED)
    if facts.sod == "exception":
        found.append(Recommendation.LOOK_SOD_EXCEPTION)
    elif facts.sod == "conflict":
        found.append(Recommendation.LOOK_SOD_CONFLICT)
    return found


@dataclass(frozen=True)
class Route:
    """Who reviews: a kind, and a person (None: any security officer)."""

    kind: ReviewerKind
    employee_id: str | None
    note: str = ""


def route(
    subject: str,
    head: str | None,
    head_manager: str | None,
    own_access: OwnAccess,
    department: str,
) -> Route:
    """The department head reviews their members; their own access goes to
    their manager (or the security officer), never to themselves (5.3); a
    department without a head goes to the security officer."""
    if head is None:
        return Route(
            ReviewerKind.SECURITY_OFFICER, None, f"department {department} has no head"
        )
    if subject != head:
        return Route(ReviewerKind.DEPARTMENT_HEAD, head)
    if own_access is OwnAccess.MANAGER and head_manager not in (None, head):
        return Route(ReviewerKind.MANAGER, head_manager, f"own access of {head}")
    return Route(ReviewerKind.SECURITY_OFFICER, None, f"own access of {head}")


class ReviewRefused(ValueError):
    """A decision, sign-off or delegation the rules refuse."""


class NotYourReview(ReviewRefused):
    """The caller is not this review's reviewer."""


class OwnAccessRefused(NotYourReview):
    """5.3: the item is about the caller's own access."""


class CommentRequired(ReviewRefused):
    """A revoke without a comment saying why."""


def may_act(review: Review, employee_id: str | None, is_security_officer: bool) -> bool:
    """Whether this caller is the reviewer of ``review``."""
    if review.reviewer_employee_id is None:
        return is_security_officer
    return employee_id is not None and employee_id == review.reviewer_employee_id


def check_reviewer(
    review: Review,
    employee_id: str | None,
    is_security_officer: bool,
) -> None:
    if review.status is not ReviewStatus.OPEN:
        raise ReviewRefused(f"review {review.id} is {review.status}")
    if employee_id is None:
        raise NotYourReview(
            "a review is decided by a person (a principal with an employee id), "
            "so that nobody reviews their own access (5.3)"
        )
    if not may_act(review, employee_id, is_security_officer):
        raise NotYourReview(f"review {review.id} is not yours")


def check_decision(
    item: ReviewItem, decision: ItemDecision, comment: str, employee_id: str
) -> None:
    """A revoke needs a comment; nobody decides on their own access (5.3)."""
    if item.employee_id == employee_id:
        raise OwnAccessRefused("nobody reviews their own access (5.3)")
    if decision is ItemDecision.REVOKE and not comment.strip():
        raise CommentRequired("a revoke needs a comment saying why")


@dataclass(frozen=True)
class Step:
    """A reminder or escalation due at ``at``; ``name`` is unique per campaign."""

    name: str
    kind: NotificationKind
    at: datetime


def due_steps(campaign: Campaign, now: datetime) -> list[Step]:
    """The steps of the campaign's policy whose time has come: reminders
    until the due time, escalations after it until the close."""
    definition = CampaignDef.model_validate(campaign.definition)
    steps = [
        Step(f"remind-{d}d", NotificationKind.REMINDER, campaign.due_at - timedelta(d))
        for d in definition.reminders.before_due_days
    ] + [
        Step(
            f"escalate-{d}d",
            NotificationKind.ESCALATION,
            campaign.due_at + timedelta(d),
        )
        for d in definition.reminders.escalate_after_due_days
    ]
    late = now >= campaign.due_at
    return sorted(
        (
            s
            for s in steps
            if campaign.started_at <= s.at <= now < campaign.closes_at
            and (s.kind is NotificationKind.ESCALATION or not late)
        ),
        key=lambda s: s.at,
    )


DIGEST_FIELDS = (
    "id",
    "review_id",
    "employee_id",
    "entitlement_ref",
    "grant_id",
    "recommendations",
    "decision",
    "comment",
    "decided_by",
    "decided_at",
    "escalated",
    "apply_state",
    "operation_id",
)


def items_digest(rows: Iterable[Mapping[str, Any]]) -> str:
    """SHA-256 over every item's decision fields, in item order: the close
    record carries it, so a later edit of any decision shows (8.15)."""
    digest = hashlib.sha256()
    for row in rows:
        values = [_plain(row.get(name)) for name in DIGEST_FIELDS]
        digest.update(json.dumps(values, ensure_ascii=False).encode() + b"\n")
    return digest.hexdigest()


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)
