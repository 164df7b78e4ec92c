"""Access review campaigns (5.18): the tables, and the repositories over them
(never committing). The bulk work (creating 200,000 items in one statement,
the review page's queries) is in ``review_items_sql`` and ``review_queries``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    select,
    update,
)
from sqlalchemy.orm import Session

from iam_service.adapters import orm, row_lock
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

review_campaigns = Table(
    "review_campaigns",
    orm.metadata,
    Column("id", Integer, primary_key=True),
    Column("definition_id", String(100), nullable=False),
    Column("name", String(200), nullable=False),
    Column("name_ja", String(200)),
    Column("period_key", String(200), nullable=False, unique=True),
    Column("status", orm._enum(CampaignStatus), nullable=False),
    Column("started_at", orm.UtcDateTime, nullable=False),
    Column("started_by", String(200), nullable=False),
    Column("due_at", orm.UtcDateTime, nullable=False),
    Column("closes_at", orm.UtcDateTime, nullable=False),
    Column("definition", orm.Json, nullable=False),
    Column("catalogue", orm.Json, nullable=False),
    Column("inactive_days", Integer, nullable=False),
    Column("items_total", Integer, nullable=False, default=0),
    Column("closed_at", orm.UtcDateTime),
    Column("closed_by", String(200)),
    Column("items_digest", String(64)),
    Column("evidence_seq", Integer),
    Column("evidence_hash", String(64)),
    Index("ix_review_campaigns_status_closes_at", "status", "closes_at"),
)

campaign_reviews = Table(
    "campaign_reviews",
    orm.metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "campaign_id", ForeignKey("review_campaigns.id"), nullable=False, index=True
    ),
    Column("department_code", String(64)),
    Column("reviewer_kind", orm._enum(ReviewerKind), nullable=False),
    Column("reviewer_employee_id", String(64), index=True),
    Column("delegated_from", String(64)),
    Column("note", Text, nullable=False, default=""),
    Column("status", orm._enum(ReviewStatus), nullable=False),
    Column("created_at", orm.UtcDateTime, nullable=False),
    Column("signed_off_at", orm.UtcDateTime),
    Column("signed_off_by", String(200)),
)

review_items = Table(
    "review_items",
    orm.metadata,
    Column("id", Integer, primary_key=True),
    Column("campaign_id", Integer, nullable=False),
    Column("review_id", ForeignKey("campaign_reviews.id"), nullable=False),
    Column("grant_id", Integer, nullable=False),
    Column("person_id", Integer, nullable=False),
    Column("employee_id", String(64), nullable=False),
    Column("department_code", String(64), nullable=False),
    Column("entitlement_ref", String(600), nullable=False),
    Column("system_key", String(64), nullable=False),
    Column("grant_source", String(32), nullable=False),
    Column("grant_source_ref", String(200)),
    Column("granted_at", orm.UtcDateTime, nullable=False),
    Column("privileged", Boolean, nullable=False),
    Column("in_birthright", Boolean, nullable=False),
    Column("last_sign_in_at", orm.UtcDateTime),
    Column("sign_in_reported", Boolean, nullable=False),
    Column("sod", String(16)),
    Column("sod_rules", String(400), nullable=False, default=""),
    Column("recommendations", String(200), nullable=False, default=""),
    Column("decision", orm._enum(ItemDecision)),
    Column("comment", Text, nullable=False, default=""),
    Column("decided_by", String(200)),
    Column("decided_by_employee_id", String(64)),
    Column("decided_at", orm.UtcDateTime),
    Column("escalated", Boolean, nullable=False, default=False),
    Column("apply_state", orm._enum(ApplyState)),
    Column("applied_at", orm.UtcDateTime),
    Column("operation_id", Integer),
    Column("apply_note", Text, nullable=False, default=""),
    Index("ix_review_items_review_id_decision", "review_id", "decision"),
    Index("ix_review_items_campaign_id", "campaign_id"),
)

review_delegations = Table(
    "review_delegations",
    orm.metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "campaign_id", ForeignKey("review_campaigns.id"), nullable=False, index=True
    ),
    Column("from_review_id", ForeignKey("campaign_reviews.id"), nullable=False),
    Column("to_review_id", ForeignKey("campaign_reviews.id"), nullable=False),
    Column("from_employee_id", String(64)),
    Column("to_employee_id", String(64), nullable=False),
    Column("delegated_by", String(200), nullable=False),
    Column("at", orm.UtcDateTime, nullable=False),
    Column("reason", Text, nullable=False),
    Column("items_moved", Integer, nullable=False, default=0),
)

# What the systems report of each account's last sign-in, collected by the
# ``collect_sign_ins`` job: a campaign reads it, never a connector.
sign_in_activity = Table(
    "sign_in_activity",
    orm.metadata,
    Column("account_id", ForeignKey("accounts.id"), primary_key=True),
    Column("system_key", String(64), nullable=False),
    Column("last_sign_in_at", orm.UtcDateTime),
    Column("observed_at", orm.UtcDateTime, nullable=False),
)

orm.register(Campaign, review_campaigns)
orm.register(Review, campaign_reviews)
orm.register(ReviewItem, review_items)
orm.register(Delegation, review_delegations)


class _Repository:
    def __init__(self, session: Session) -> None:
        self.session = session


class CampaignRepository(_Repository):
    def add(self, campaign: Campaign) -> None:
        self.session.add(campaign)

    def get(self, campaign_id: int, *, lock: bool = False) -> Campaign | None:
        query = select(Campaign).where(review_campaigns.c.id == campaign_id)
        return row_lock.one_or_none(self.session, query, lock=lock)

    def by_period(self, period_key: str) -> Campaign | None:
        query = select(Campaign).where(review_campaigns.c.period_key == period_key)
        return self.session.scalars(query).one_or_none()

    def find(
        self, *, status: CampaignStatus | None = None, limit: int = 100
    ) -> Sequence[Campaign]:
        t = review_campaigns
        query = select(Campaign)
        if status is not None:
            query = query.where(t.c.status == status)
        return self.session.scalars(query.order_by(t.c.id.desc()).limit(limit)).all()

    def to_close(self, now: datetime) -> Sequence[Campaign]:
        t = review_campaigns
        query = select(Campaign).where(
            t.c.status == CampaignStatus.OPEN, t.c.closes_at <= now
        )
        return self.session.scalars(query.order_by(t.c.id)).all()


class ReviewRepository(_Repository):
    def add(self, review: Review) -> None:
        self.session.add(review)

    def get(self, review_id: int, *, lock: bool = False) -> Review | None:
        query = select(Review).where(campaign_reviews.c.id == review_id)
        return row_lock.one_or_none(self.session, query, lock=lock)

    def for_campaign(self, campaign_id: int) -> Sequence[Review]:
        t = campaign_reviews
        query = select(Review).where(t.c.campaign_id == campaign_id)
        return self.session.scalars(query.order_by(t.c.id)).all()

    def for_reviewer(
        self, employee_id: str | None, *, security_officer: bool
    ) -> Sequence[Review]:
        """The reviews this person decides, newest campaign first."""
        t = campaign_reviews
        mine = t.c.reviewer_employee_id == employee_id
        if security_officer:
            mine = mine | t.c.reviewer_employee_id.is_(None)
        query = select(Review).where(mine)
        return self.session.scalars(
            query.order_by(t.c.campaign_id.desc(), t.c.id)
        ).all()


class ReviewItemRepository(_Repository):
    def get(self, item_id: int) -> ReviewItem | None:
        return self.session.get(ReviewItem, item_id)

    def in_review(
        self,
        review_id: int,
        *,
        decision: ItemDecision | None = None,
        undecided: bool = False,
    ) -> Sequence[ReviewItem]:
        t = review_items
        query = select(ReviewItem).where(t.c.review_id == review_id)
        if undecided:
            query = query.where(t.c.decision.is_(None))
        elif decision is not None:
            query = query.where(t.c.decision == decision)
        return self.session.scalars(query.order_by(t.c.id)).all()

    def waiting_in_campaign(self, campaign_id: int) -> Sequence[ReviewItem]:
        """Revocations decided and not yet applied."""
        t = review_items
        query = select(ReviewItem).where(
            t.c.campaign_id == campaign_id, t.c.apply_state == ApplyState.WAITING
        )
        return self.session.scalars(query.order_by(t.c.id)).all()

    def undecided_in_campaign(self, campaign_id: int) -> Sequence[ReviewItem]:
        t = review_items
        query = select(ReviewItem).where(
            t.c.campaign_id == campaign_id, t.c.decision.is_(None)
        )
        return self.session.scalars(query.order_by(t.c.id)).all()

    def move(self, item_ids: Sequence[int], review_id: int) -> None:
        if item_ids:
            self.session.execute(
                update(review_items)
                .where(review_items.c.id.in_(list(item_ids)))
                .values(review_id=review_id)
            )


class DelegationRepository(_Repository):
    def add(self, delegation: Delegation) -> None:
        self.session.add(delegation)

    def for_campaign(self, campaign_id: int) -> Sequence[Delegation]:
        t = review_delegations
        query = select(Delegation).where(t.c.campaign_id == campaign_id)
        return self.session.scalars(query.order_by(t.c.id)).all()
