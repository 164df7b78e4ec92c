"""``/api/v1/review-campaigns`` and ``/api/v1/reviews``: periodic access
reviews (5.18).

A security officer starts and closes campaigns; the security officer and
auditors read whole campaigns and download the sealed report (PDF, CSV).
Every signed-in person reads and decides the reviews assigned to them (a
department head their department's, a delegate what was handed to them);
another reviewer's review is 403, whatever the caller's role.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from iam_service.domain.reviews import ItemDecision, ItemFilter
from iam_service.domain.security import Role
from iam_service.services.auth import Principal
from iam_service.web.api.deps import ContainerDep, principal, require

campaigns_router = APIRouter(prefix="/api/v1/review-campaigns", tags=["reviews"])
reviews_router = APIRouter(prefix="/api/v1/reviews", tags=["reviews"])
Anyone = Annotated[Principal, Depends(principal)]
SecurityOfficer = Annotated[Principal, Depends(require(Role.SECURITY_OFFICER))]
Reader = Annotated[Principal, Depends(require(Role.SECURITY_OFFICER, Role.AUDITOR))]


class CampaignCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    definition: str = Field(min_length=1, max_length=100)


class DecisionCreate(BaseModel):
    """Keep or revoke items; a revoke needs a comment."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    item_ids: list[int] = Field(min_length=1, max_length=500)
    decision: ItemDecision
    comment: str = Field(default="", max_length=2000)


class DelegationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    employee_id: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=2000)


@campaigns_router.get("")
async def list_campaigns(c: ContainerDep, who: Anyone) -> dict[str, Any]:
    """Readers see every campaign; others those they review in."""
    found = await run_in_threadpool(c.access_reviews.views.campaigns, who)
    return {"campaigns": found}


@campaigns_router.post("", status_code=status.HTTP_201_CREATED)
async def start_campaign(
    body: CampaignCreate, c: ContainerDep, who: SecurityOfficer
) -> dict[str, Any]:
    """Start a campaign of a policy definition now (the security officer)."""
    campaign = await run_in_threadpool(
        c.access_reviews.starter.start, body.definition, who.actor
    )
    return await run_in_threadpool(
        c.access_reviews.views.campaign, campaign.id or 0, who
    )


@campaigns_router.get("/{campaign_id}")
async def get_campaign(
    campaign_id: int, c: ContainerDep, who: Reader
) -> dict[str, Any]:
    return await run_in_threadpool(c.access_reviews.views.campaign, campaign_id, who)


@campaigns_router.post("/{campaign_id}/close")
async def close_campaign(
    campaign_id: int, c: ContainerDep, who: SecurityOfficer
) -> dict[str, Any]:
    """Close now: undecided items as the policy says, then seal."""
    await run_in_threadpool(c.access_reviews.closer.close, campaign_id, who.actor)
    return await run_in_threadpool(c.access_reviews.views.campaign, campaign_id, who)


@campaigns_router.get("/{campaign_id}/report.csv")
async def report_csv(campaign_id: int, c: ContainerDep, who: Reader) -> Response:
    text = await run_in_threadpool(c.access_reviews.reports.csv, campaign_id, who)
    return Response(
        text.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers=_attachment(f"access-review-{campaign_id}.csv"),
    )


@campaigns_router.get("/{campaign_id}/report.pdf")
async def report_pdf(campaign_id: int, c: ContainerDep, who: Reader) -> Response:
    data = await run_in_threadpool(c.access_reviews.reports.pdf, campaign_id, who)
    return Response(
        data,
        media_type="application/pdf",
        headers=_attachment(f"access-review-{campaign_id}.pdf"),
    )


@reviews_router.get("")
async def my_reviews(c: ContainerDep, who: Anyone) -> dict[str, Any]:
    """The reviews I decide (and, for a security officer, theirs)."""
    found = await run_in_threadpool(c.access_reviews.views.my_reviews, who)
    return {"reviews": found}


@reviews_router.get("/{review_id}")
async def get_review(review_id: int, c: ContainerDep, who: Anyone) -> dict[str, Any]:
    return await run_in_threadpool(c.access_reviews.views.review, review_id, who)


@reviews_router.get("/{review_id}/items")
async def list_items(
    review_id: int,
    c: ContainerDep,
    who: Anyone,
    status_: Annotated[
        Literal["open", "decided", "keep", "revoke", "all"], Query(alias="status")
    ] = "open",
    recommendation: Annotated[str, Query(max_length=40)] = "any",
    q: Annotated[str, Query(max_length=100)] = "",
    system: Annotated[str | None, Query(max_length=64)] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
    lang: Literal["ja", "en"] = "en",
) -> dict[str, Any]:
    """One page of items, strongest recommendation first."""
    flt = ItemFilter(
        status=status_,
        recommendation=recommendation,
        search=q,
        system=system,
        page=page,
        per_page=per_page,
    )
    return await run_in_threadpool(
        c.access_reviews.views.items, review_id, who, flt, lang
    )


@reviews_router.post("/{review_id}/decisions")
async def decide(
    review_id: int, body: DecisionCreate, c: ContainerDep, who: Anyone
) -> dict[str, Any]:
    count = await run_in_threadpool(
        c.access_reviews.decisions.decide,
        review_id,
        body.item_ids,
        body.decision,
        body.comment,
        who,
    )
    return {"decided": count}


@reviews_router.post("/{review_id}/bulk-keep")
async def bulk_keep(review_id: int, c: ContainerDep, who: Anyone) -> dict[str, Any]:
    """Keep every undecided item that carries no recommendation."""
    count = await run_in_threadpool(
        c.access_reviews.decisions.bulk_keep, review_id, who
    )
    return {"kept": count}


@reviews_router.post("/{review_id}/delegate")
async def delegate(
    review_id: int, body: DelegationCreate, c: ContainerDep, who: Anyone
) -> dict[str, Any]:
    return await run_in_threadpool(
        c.access_reviews.decisions.delegate,
        review_id,
        body.employee_id,
        body.reason,
        who,
    )


@reviews_router.post("/{review_id}/sign-off")
async def sign_off(review_id: int, c: ContainerDep, who: Anyone) -> dict[str, Any]:
    return await run_in_threadpool(c.access_reviews.decisions.sign_off, review_id, who)


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}
