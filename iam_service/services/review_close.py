"""Closing a campaign and sealing its evidence (5.18, 8.15).

``close`` (the scheduler when ``closes_at`` passes, or a security officer):

1. undecided items follow the policy: kept and marked escalated, or revoked
   (decided by ``policy``, with the reason as comment);
2. revocations not yet applied go to the operation queue;
3. open reviews are closed;
4. the digest of every item (``review_rules.items_digest``) goes into the
   audit record ``review_campaign.closed``; that record's place in the hash
   chain (sequence number and hash) is stored on the campaign and printed
   in the report. Editing a decision afterwards changes the digest; editing
   the record breaks the chain (ADR 0017).

The sealing of step 4 is written right after the close commits (the hash
exists only once the chain has it); ``seal`` is idempotent and a crash in
between is repaired by the next ``close_due`` run.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import select, update

from iam_service.adapters.orm_reviews import review_items
from iam_service.domain.review_policy import CampaignDef, UndecidedAction
from iam_service.domain.review_rules import DIGEST_FIELDS, items_digest
from iam_service.domain.reviews import (
    ApplyState,
    Campaign,
    CampaignStatus,
    ItemDecision,
    ReviewStatus,
)
from iam_service.services.errors import ConflictError, NotFoundError
from iam_service.services.lifecycle import LifecycleContext
from iam_service.services.review_apply import apply_revocations
from iam_service.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

POLICY_ACTOR = "policy:access_reviews"
CLOSED_ACTION = "review_campaign.closed"


class CampaignCloser:
    def __init__(self, uow_factory: UnitOfWorkFactory, ctx: LifecycleContext) -> None:
        self.uow_factory = uow_factory
        self.ctx = ctx

    def close(self, campaign_id: int, actor: str) -> Campaign:
        policy = self.ctx.policy()
        with self.uow_factory() as uow:
            campaign = uow.campaigns.get(campaign_id, lock=True)
            if campaign is None:
                raise NotFoundError(f"no review campaign {campaign_id}")
            if campaign.status is not CampaignStatus.OPEN:
                raise ConflictError(f"review campaign {campaign_id} is closed")
            definition = CampaignDef.model_validate(campaign.definition)
            undecided = _settle_undecided(uow, campaign, definition.undecided)
            waiting = uow.review_items.waiting_in_campaign(campaign_id)
            queued = apply_revocations(
                uow, waiting, policy, self.ctx.systems, actor=actor
            )
            for review in uow.reviews.for_campaign(campaign_id):
                if review.status is ReviewStatus.OPEN:
                    review.status = ReviewStatus.CLOSED
            now = uow.clock.now()
            campaign.status, campaign.closed_at, campaign.closed_by = (
                CampaignStatus.CLOSED,
                now,
                actor,
            )
            uow.flush()
            campaign.items_digest = items_digest(_digest_rows(uow, campaign_id))
            uow.record(
                actor,
                CLOSED_ACTION,
                f"review_campaign:{campaign_id}",
                after={
                    "items": campaign.items_total,
                    "items_digest": campaign.items_digest,
                    "undecided": undecided,
                    "undecided_action": str(definition.undecided),
                    "operations_queued": queued,
                },
                reason="5.18 periodic access review closed",
            )
            uow.commit()
        return self.seal(campaign_id)

    def seal(self, campaign_id: int) -> Campaign:
        """Store the close record's sequence number and hash on the campaign."""
        with self.uow_factory() as uow:
            campaign = uow.campaigns.get(campaign_id, lock=True)
            if campaign is None:
                raise NotFoundError(f"no review campaign {campaign_id}")
            if campaign.status is CampaignStatus.CLOSED and not campaign.evidence_hash:
                records = uow.audit.for_target(f"review_campaign:{campaign_id}")
                closed = [r for r in records if r.action == CLOSED_ACTION]
                if closed:
                    campaign.evidence_seq = closed[-1].seq
                    campaign.evidence_hash = closed[-1].hash
                    uow.commit()
            return campaign

    def close_due(self) -> list[int]:
        """The job: close campaigns whose time is up; seal any left unsealed."""
        with self.uow_factory() as uow:
            due = [c.id or 0 for c in uow.campaigns.to_close(uow.clock.now())]
            unsealed = [
                c.id or 0
                for c in uow.campaigns.find(status=CampaignStatus.CLOSED, limit=20)
                if not c.evidence_hash
            ]
        closed = []
        for campaign_id in due:
            try:
                self.close(campaign_id, "scheduler")
            except ConflictError:
                continue  # closed by hand meanwhile
            closed.append(campaign_id)
        for campaign_id in unsealed:
            self.seal(campaign_id)
        return closed


def _settle_undecided(
    uow: UnitOfWork, campaign: Campaign, action: UndecidedAction
) -> int:
    """Decide what nobody decided, as the policy says; returns how many."""
    t = review_items
    undecided = (t.c.campaign_id == campaign.id) & t.c.decision.is_(None)
    count = len(list(uow.session.scalars(select(t.c.id).where(undecided))))
    if not count:
        return 0
    revoke = action is UndecidedAction.REVOKE
    comment = (
        "not decided by the due time: revoked by policy (least privilege, 8.3)"
        if revoke
        else "not decided by the due time: kept and escalated to the security officer"
    )
    uow.session.execute(
        update(t)
        .where(undecided)
        .values(
            decision=ItemDecision.REVOKE if revoke else ItemDecision.KEEP,
            comment=comment,
            decided_by=POLICY_ACTOR,
            decided_at=uow.clock.now(),
            escalated=not revoke,
            apply_state=ApplyState.WAITING if revoke else None,
        )
        .execution_options(synchronize_session=False)
    )
    uow.session.expire_all()
    uow.record(
        POLICY_ACTOR,
        "review_campaign.undecided_settled",
        f"review_campaign:{campaign.id}",
        after={"items": count, "action": str(action)},
        reason=comment,
    )
    return count


def _digest_rows(uow: UnitOfWork, campaign_id: int) -> Iterator[Mapping[str, Any]]:
    t = review_items
    query = (
        select(*(t.c[name] for name in DIGEST_FIELDS))
        .where(t.c.campaign_id == campaign_id)
        .order_by(t.c.id)
        .execution_options(yield_per=5000)
    )
    for row in uow.session.execute(query):
        yield dict(row._mapping)
