"""Reading campaigns and reviews: who may see what, and how items are shown.

The security officer and the auditor see every campaign (5.35: the auditor
reads, never decides). Anyone else sees the reviews they decide (or handed
on); another department's review is refused (403), whatever the role.

Every entitlement is shown under its human name and description from the
catalogue as it was when the campaign started, never as a bare group name;
each recommendation with its reason in the reader's language.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from iam_service.adapters import review_queries
from iam_service.domain.review_rules import may_act
from iam_service.domain.reviews import Campaign, CampaignStatus, ItemFilter, Review
from iam_service.domain.security import Role
from iam_service.services.auth import Principal
from iam_service.services.errors import Forbidden, NotFoundError
from iam_service.services.review_formats import (
    campaign_head,
    campaign_view,
    item_view,
    review_view,
)
from iam_service.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

READERS = (Role.SECURITY_OFFICER, Role.AUDITOR)


def can_see(review: Review, who: Principal) -> bool:
    if who.has(*READERS):
        return True
    me = who.employee_id
    return may_act(review, me, who.has(Role.SECURITY_OFFICER)) or (
        me is not None and review.delegated_from == me
    )


class ReviewViews:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self.uow_factory = uow_factory

    def campaigns(self, who: Principal) -> list[dict[str, Any]]:
        """Every campaign for readers; for others those they review in."""
        with self.uow_factory() as uow:
            found = list(uow.campaigns.find(limit=200))
            if not who.has(*READERS):
                mine = {r.campaign_id for r in self._mine(uow, who)}
                found = [c for c in found if c.id in mine]
            counts = review_queries.progress(
                uow.session, "campaign_id", [c.id or 0 for c in found]
            )
            return [campaign_view(c, counts.get(c.id or 0)) for c in found]

    def campaign(self, campaign_id: int, who: Principal) -> dict[str, Any]:
        """A campaign with every review's progress (readers only)."""
        if not who.has(*READERS):
            raise Forbidden(
                "a whole campaign is shown to the security officer and auditors"
            )
        with self.uow_factory() as uow:
            campaign = uow.campaigns.get(campaign_id)
            if campaign is None:
                raise NotFoundError(f"no review campaign {campaign_id}")
            reviews = list(uow.reviews.for_campaign(campaign_id))
            counts = review_queries.progress(
                uow.session, "review_id", [r.id or 0 for r in reviews]
            )
            total = review_queries.progress(uow.session, "campaign_id", [campaign_id])
            view = campaign_view(campaign, total.get(campaign_id))
            names = _names(uow, [r.reviewer_employee_id for r in reviews])
            view["reviews"] = [
                review_view(r, counts.get(r.id or 0), names) for r in reviews
            ]
            view["delegations"] = [
                {
                    "from_review": d.from_review_id,
                    "to_review": d.to_review_id,
                    "from_employee_id": d.from_employee_id,
                    "to_employee_id": d.to_employee_id,
                    "by": d.delegated_by,
                    "at": d.at.isoformat(),
                    "reason": d.reason,
                    "items_moved": d.items_moved,
                }
                for d in uow.delegations.for_campaign(campaign_id)
            ]
            return view

    def my_reviews(self, who: Principal) -> list[dict[str, Any]]:
        with self.uow_factory() as uow:
            reviews = self._mine(uow, who)
            counts = review_queries.progress(
                uow.session, "review_id", [r.id or 0 for r in reviews]
            )
            campaigns = {
                r.campaign_id: uow.campaigns.get(r.campaign_id) for r in reviews
            }
            names = _names(uow, [r.reviewer_employee_id for r in reviews])
            views = []
            for review in reviews:
                view = review_view(review, counts.get(review.id or 0), names)
                view["campaign"] = campaign_head(campaigns[review.campaign_id])
                views.append(view)
            return views

    def review(self, review_id: int, who: Principal) -> dict[str, Any]:
        with self.uow_factory() as uow:
            review, campaign = self._visible(uow, review_id, who)
            counts = review_queries.progress(uow.session, "review_id", [review_id])
            names = _names(uow, [review.reviewer_employee_id])
            view = review_view(review, counts.get(review_id), names)
            view["campaign"] = campaign_head(campaign)
            view["may_decide"] = (
                may_act(review, who.employee_id, who.has(Role.SECURITY_OFFICER))
                and campaign.status is CampaignStatus.OPEN
            )
            return view

    def items(
        self, review_id: int, who: Principal, flt: ItemFilter, language: str = "en"
    ) -> dict[str, Any]:
        """One page of the review's items, each with context and reasons."""
        with self.uow_factory() as uow:
            _review, campaign = self._visible(uow, review_id, who)
            refs = _refs_named(campaign.catalogue, flt.search)
            rows, total = review_queries.item_page(uow.session, [review_id], flt, refs)
            requests = review_queries.requests_behind(
                uow.session,
                [
                    r["grant_source_ref"] or ""
                    for r in rows
                    if r["grant_source"] == "request"
                ],
            )
            items = [
                item_view(
                    row, campaign.catalogue, requests, language, campaign.inactive_days
                )
                for row in rows
            ]
            return {
                "review": review_id,
                "items": items,
                "total": total,
                "page": max(1, flt.page),
                "per_page": flt.per_page,
                "pages": max(1, -(-total // flt.per_page)),
            }

    def item(
        self, review_id: int, item_id: int, who: Principal, language: str = "en"
    ) -> dict[str, Any]:
        """One item of the review, as ``items`` shows it."""
        flt = ItemFilter(status="all", item_id=item_id, per_page=1)
        found = self.items(review_id, who, flt, language)["items"]
        if not found:
            raise NotFoundError(f"no item {item_id} in review {review_id}")
        return dict(found[0])

    @staticmethod
    def _mine(uow: UnitOfWork, who: Principal) -> list[Review]:
        if who.employee_id is None and not who.has(Role.SECURITY_OFFICER):
            return []
        return list(
            uow.reviews.for_reviewer(
                who.employee_id, security_officer=who.has(Role.SECURITY_OFFICER)
            )
        )

    @staticmethod
    def _visible(
        uow: UnitOfWork, review_id: int, who: Principal
    ) -> tuple[Review, Campaign]:
        review = uow.reviews.get(review_id)
        if review is None:
            raise NotFoundError(f"no review {review_id}")
        if not can_see(review, who):
            raise Forbidden(
                f"review {review_id} belongs to another reviewer (5.18: each "
                "department head reviews their own department)"
            )
        campaign = uow.campaigns.get(review.campaign_id)
        if campaign is None:
            raise NotFoundError(f"no review campaign {review.campaign_id}")
        return review, campaign


def _names(uow: UnitOfWork, employee_ids: list[str | None]) -> dict[str, str]:
    names = {}
    for employee_id in {e for e in employee_ids if e}:
        person = uow.persons.by_employee_id(employee_id)
        names[employee_id] = person.display_name if person else employee_id
    return names


def _refs_named(catalogue: Mapping[str, Any], search: str) -> list[str]:
    """Refs whose catalogue name or description contains ``search``."""
    term = search.strip().lower()
    if not term:
        return []
    return [
        ref
        for ref, e in catalogue.items()
        if any(
            term in str(e.get(k) or "").lower()
            for k in ("name", "name_ja", "description")
        )
    ]
