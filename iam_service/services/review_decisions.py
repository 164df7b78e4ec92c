"""Deciding a review (5.18): keep or revoke, bulk keep, delegate, sign off.

Contract (one transaction each; a refusal writes nothing):

* only the review's reviewer acts on it (the security officer's review: any
  security officer), while the review and its campaign are open: 403 / 409;
* nobody decides an item about their own access (403, 5.3); a revoke needs a
  comment (422); a decision may change until the review is signed off;
* ``bulk_keep`` keeps every undecided item that carries no recommendation,
  in one statement;
* ``delegate`` hands the undecided items to another active person, on
  record (who, to whom, when, why); items about that person's own access
  stay with the delegator;
* ``sign_off`` needs every item decided; where the policy says
  ``at_sign_off``, the revocations go to the operation queue at once.

Every decision is audited (target ``person:<employee id>``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, select, update

from iam_service.adapters.orm_reviews import review_items
from iam_service.domain import review_rules as rules
from iam_service.domain.model import PersonStatus
from iam_service.domain.review_policy import ApplyAt, CampaignDef
from iam_service.domain.reviews import (
    ApplyState,
    Campaign,
    CampaignStatus,
    Delegation,
    ItemDecision,
    Review,
    ReviewerKind,
    ReviewItem,
    ReviewStatus,
)
from iam_service.domain.security import Role
from iam_service.services.access_views import SegregationOfDutiesError
from iam_service.services.auth import Principal
from iam_service.services.errors import (
    ConflictError,
    Forbidden,
    InvalidInput,
    NotFoundError,
    ServiceError,
)
from iam_service.services.lifecycle import LifecycleContext
from iam_service.services.review_apply import apply_revocations
from iam_service.services.unit_of_work import UnitOfWork, UnitOfWorkFactory


def refusal(error: rules.ReviewRefused) -> ServiceError:
    if isinstance(error, rules.OwnAccessRefused):
        return SegregationOfDutiesError(str(error))
    if isinstance(error, rules.NotYourReview):
        return Forbidden(str(error))
    if isinstance(error, rules.CommentRequired):
        return InvalidInput(str(error), field="comment")
    return ConflictError(str(error))


class ReviewDecisions:
    def __init__(self, uow_factory: UnitOfWorkFactory, ctx: LifecycleContext) -> None:
        self.uow_factory = uow_factory
        self.ctx = ctx

    def decide(
        self,
        review_id: int,
        item_ids: Sequence[int],
        decision: ItemDecision,
        comment: str,
        who: Principal,
    ) -> int:
        """Keep or revoke the given items of the review; returns how many."""
        if not item_ids:
            raise InvalidInput("no items given", field="item_ids")
        with self.uow_factory() as uow:
            _review, _ = _acting(uow, review_id, who)
            for item_id in dict.fromkeys(item_ids):
                item = uow.review_items.get(item_id)
                if item is None or item.review_id != review_id:
                    raise NotFoundError(f"no item {item_id} in review {review_id}")
                try:
                    rules.check_decision(item, decision, comment, who.employee_id or "")
                except rules.ReviewRefused as error:
                    raise refusal(error) from None
                _decide(uow, item, decision, comment, who)
            uow.commit()
            return len(set(item_ids))

    def bulk_keep(self, review_id: int, who: Principal) -> int:
        """Keep every undecided item without a recommendation."""
        with self.uow_factory() as uow:
            _review, campaign = _acting(uow, review_id, who)
            t = review_items
            plain = and_(
                t.c.review_id == review_id,
                t.c.decision.is_(None),
                t.c.recommendations == "",
                t.c.employee_id != (who.employee_id or ""),
            )
            ids = list(
                uow.session.scalars(select(t.c.id).where(plain).order_by(t.c.id))
            )
            if ids:
                uow.session.execute(
                    update(t)
                    .where(t.c.id.in_(ids))
                    .values(
                        decision=ItemDecision.KEEP,
                        comment="",
                        decided_by=who.actor,
                        decided_by_employee_id=who.employee_id,
                        decided_at=uow.clock.now(),
                        apply_state=None,
                    )
                )
            uow.record(
                who.actor,
                "review.bulk_kept",
                f"review:{review_id}",
                after={"campaign": campaign.id, "items": ids, "count": len(ids)},
                reason="kept every undecided item that carries no recommendation",
            )
            uow.commit()
            return len(ids)

    def sign_off(self, review_id: int, who: Principal) -> dict[str, Any]:
        policy = self.ctx.policy()
        with self.uow_factory() as uow:
            review, campaign = _acting(uow, review_id, who)
            open_items = uow.review_items.in_review(review_id, undecided=True)
            if open_items:
                raise ConflictError(
                    f"{len(open_items)} item(s) are not decided yet; decide each "
                    "before signing off"
                )
            now = uow.clock.now()
            review.status, review.signed_off_at = ReviewStatus.SIGNED_OFF, now
            review.signed_off_by = who.actor
            queued = 0
            definition = CampaignDef.model_validate(campaign.definition)
            if definition.apply_revocations is ApplyAt.SIGN_OFF:
                revoked = uow.review_items.in_review(
                    review_id, decision=ItemDecision.REVOKE
                )
                queued = apply_revocations(
                    uow, revoked, policy, self.ctx.systems, actor=who.actor
                )
            uow.record(
                who.actor,
                "review.signed_off",
                f"review:{review_id}",
                after={"campaign": campaign.id, "operations_queued": queued},
                reason="5.18 periodic access review",
            )
            uow.commit()
            return {"review": review_id, "status": str(review.status), "queued": queued}

    def delegate(
        self, review_id: int, to_employee_id: str, reason: str, who: Principal
    ) -> dict[str, Any]:
        """Hand the undecided items to ``to_employee_id``, on record."""
        if not reason.strip():
            raise InvalidInput("a delegation needs a reason", field="reason")
        with self.uow_factory() as uow:
            review, campaign = _acting(uow, review_id, who)
            target = uow.persons.by_employee_id(to_employee_id)
            if target is None or target.status is not PersonStatus.ACTIVE:
                raise InvalidInput(
                    f"{to_employee_id} is not an active person", field="employee_id"
                )
            if to_employee_id in (who.employee_id, review.reviewer_employee_id):
                raise ConflictError("a review is delegated to someone else")
            movable = [
                i.id or 0
                for i in uow.review_items.in_review(review_id, undecided=True)
                if i.employee_id != to_employee_id
            ]
            if not movable:
                raise ConflictError("nothing left to delegate in this review")
            handed = Review(
                campaign_id=campaign.id or 0,
                reviewer_kind=ReviewerKind.DELEGATE,
                reviewer_employee_id=to_employee_id,
                delegated_from=who.employee_id,
                department_code=review.department_code,
                note=f"delegated by {who.employee_id}: {reason}",
                created_at=uow.clock.now(),
            )
            uow.reviews.add(handed)
            uow.flush()
            uow.review_items.move(movable, handed.id or 0)
            record = Delegation(
                campaign_id=campaign.id or 0,
                from_review_id=review_id,
                to_review_id=handed.id or 0,
                from_employee_id=who.employee_id,
                to_employee_id=to_employee_id,
                delegated_by=who.actor,
                at=uow.clock.now(),
                reason=reason,
                items_moved=len(movable),
            )
            uow.delegations.add(record)
            uow.record(
                who.actor,
                "review.delegated",
                f"review:{review_id}",
                after={
                    "to_review": handed.id,
                    "to_employee_id": to_employee_id,
                    "items": len(movable),
                },
                reason=reason,
            )
            uow.commit()
            return {"review": handed.id, "items_moved": len(movable)}


def _acting(uow: UnitOfWork, review_id: int, who: Principal) -> tuple[Review, Campaign]:
    """The review, locked, if ``who`` may act on it now."""
    review = uow.reviews.get(review_id, lock=True)
    if review is None:
        raise NotFoundError(f"no review {review_id}")
    campaign = uow.campaigns.get(review.campaign_id)
    if campaign is None or campaign.status is not CampaignStatus.OPEN:
        raise ConflictError(f"the campaign of review {review_id} is closed")
    try:
        rules.check_reviewer(review, who.employee_id, who.has(Role.SECURITY_OFFICER))
    except rules.ReviewRefused as error:
        raise refusal(error) from None
    return review, campaign


def _decide(
    uow: UnitOfWork,
    item: ReviewItem,
    decision: ItemDecision,
    comment: str,
    who: Principal,
) -> None:
    before = str(item.decision) if item.decision else None
    item.decision, item.comment = decision, comment.strip()
    item.decided_by, item.decided_by_employee_id = who.actor, who.employee_id
    item.decided_at = uow.clock.now()
    item.apply_state = ApplyState.WAITING if decision is ItemDecision.REVOKE else None
    uow.record(
        who.actor,
        "review_item.decided",
        f"person:{item.employee_id}",
        before={"decision": before},
        after={
            "item": item.id,
            "campaign": item.campaign_id,
            "entitlement": item.entitlement_ref,
            "decision": str(decision),
        },
        reason=item.comment,
    )
