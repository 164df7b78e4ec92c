"""Access reviews in the console (5.18): a reviewer's reviews, the review
page (filter, page, keep or revoke each item from the keyboard, bulk keep,
delegate, sign off), and the campaigns for the security officer and the
auditor (progress, start, close, the sealed report).

Every page calls the same use cases as ``/api/v1/reviews``; who may see or
decide a review is checked there (another department's review: 403).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from iam_service.bootstrap import Container
from iam_service.domain.reviews import ItemDecision, ItemFilter, Recommendation
from iam_service.domain.security import Role
from iam_service.services.errors import InvalidInput
from iam_service.web.ui.guard import ConsoleUser, Viewer, allow
from iam_service.web.ui.nav import HomeSection, NavEntry
from iam_service.web.ui.rendering import render, see_other

router = APIRouter(prefix="/console/reviews", include_in_schema=False)
CAMPAIGN_READERS = (Role.SECURITY_OFFICER, Role.AUDITOR)
Reader = Annotated[ConsoleUser, Depends(allow(*CAMPAIGN_READERS))]
Officer = Annotated[ConsoleUser, Depends(allow(Role.SECURITY_OFFICER))]
NAV = [
    NavEntry(
        "reviews",
        "/console/reviews",
        "nav.reviews",
        roles=(Role.DEPARTMENT_HEAD, Role.SECURITY_OFFICER, Role.AUDITOR),
        order=30,
    )
]
PER_PAGE = (25, 50, 100, 200)
Status = Literal["open", "decided", "keep", "revoke", "all"]


def _mine(c: Container, user: ConsoleUser) -> dict[str, Any]:
    reviews = c.access_reviews.views.my_reviews(user.principal)
    return {"reviews": [r for r in reviews if r["status"] == "open"][:5]}


def _campaigns(c: Container, user: ConsoleUser) -> dict[str, Any]:
    return {"campaigns": c.access_reviews.views.campaigns(user.principal)[:5]}


SECTIONS = [
    HomeSection(
        "department_head.reviews",
        Role.DEPARTMENT_HEAD,
        "home.reviews",
        "reviews/_home.html",
        _mine,
        10,
    ),
    HomeSection(
        "security_officer.reviews",
        Role.SECURITY_OFFICER,
        "home.review_campaigns",
        "reviews/_campaigns_home.html",
        _campaigns,
        30,
    ),
    HomeSection(
        "auditor.reports",
        Role.AUDITOR,
        "home.reports",
        "reviews/_campaigns_home.html",
        _campaigns,
        10,
    ),
]


def _container(request: Request) -> Container:
    found: Container = request.app.state.container
    return found


@router.get("")
def reviews(request: Request, user: Viewer) -> HTMLResponse:
    c = _container(request)
    views = c.access_reviews.views
    mine = views.my_reviews(user.principal)
    campaigns = views.campaigns(user.principal) if user.has(*CAMPAIGN_READERS) else []
    definitions = [
        {"id": d.id, "name": d.label(str(request.state.console.lang))}
        for d in c.policy().access_reviews.campaigns
    ]
    return render(
        request,
        "reviews/list.html",
        {
            "mine": mine,
            "campaigns": campaigns,
            "definitions": definitions if user.has(Role.SECURITY_OFFICER) else [],
        },
        nav="reviews",
    )


@router.post("/campaigns")
async def start(
    request: Request,
    user: Officer,
    definition: Annotated[str, Form(min_length=1, max_length=100)],
) -> Response:
    c = _container(request)
    campaign = await run_in_threadpool(
        c.access_reviews.starter.start, definition, user.actor
    )
    return see_other(
        f"/console/reviews/campaigns/{campaign.id}", notice="notice.review_started"
    )


@router.get("/campaigns/{campaign_id}")
def campaign(request: Request, campaign_id: int, user: Reader) -> HTMLResponse:
    c = _container(request)
    view = c.access_reviews.views.campaign(campaign_id, user.principal)
    return render(
        request,
        "reviews/campaign.html",
        {"campaign": view, "may_close": user.has(Role.SECURITY_OFFICER)},
        nav="reviews",
    )


@router.post("/campaigns/{campaign_id}/close")
async def close(request: Request, campaign_id: int, user: Officer) -> Response:
    c = _container(request)
    await run_in_threadpool(c.access_reviews.closer.close, campaign_id, user.actor)
    return see_other(
        f"/console/reviews/campaigns/{campaign_id}", notice="notice.review_closed"
    )


@router.get("/{review_id}")
def review(
    request: Request,
    review_id: int,
    user: Viewer,
    status: Annotated[Status, Query()] = "open",
    recommendation: Annotated[str, Query(max_length=40)] = "any",
    q: Annotated[str, Query(max_length=100)] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> HTMLResponse:
    c = _container(request)
    lang = str(request.state.console.lang)
    views = c.access_reviews.views
    header = views.review(review_id, user.principal)
    flt = ItemFilter(
        status=status,
        recommendation=recommendation,
        search=q,
        page=page,
        per_page=per_page if per_page in PER_PAGE else 50,
    )
    found = views.items(review_id, user.principal, flt, lang)
    filters = {
        "status": status,
        "recommendation": recommendation,
        "q": q,
        "per_page": flt.per_page,
    }
    return render(
        request,
        "reviews/review.html",
        {
            "review": header,
            "items": found["items"],
            "page": {
                "number": found["page"],
                "pages": found["pages"],
                "total": found["total"],
            },
            "filters": filters,
            "recommendations": [r.value for r in Recommendation],
            "per_page_choices": PER_PAGE,
            "back": f"/console/reviews/{review_id}" + _query(filters, page),
        },
        nav="reviews",
    )


@router.post("/{review_id}/items/{item_id}")
async def decide(
    request: Request,
    review_id: int,
    item_id: int,
    user: Viewer,
    decision: Annotated[ItemDecision, Form()],
    comment: Annotated[str, Form(max_length=2000)] = "",
    back: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    c = _container(request)
    lang = str(request.state.console.lang)
    error = None
    try:
        await run_in_threadpool(
            c.access_reviews.decisions.decide,
            review_id,
            [item_id],
            decision,
            comment,
            user.principal,
        )
    except InvalidInput as refused:
        if request.headers.get("hx-request") != "true":
            raise
        error = refused.message
    if request.headers.get("hx-request") != "true":
        return see_other(_safe_back(back, review_id), notice="notice.review_decided")
    return await run_in_threadpool(
        _row, request, c, review_id, item_id, user, lang, error
    )


def _row(
    request: Request,
    c: Container,
    review_id: int,
    item_id: int,
    user: ConsoleUser,
    lang: str,
    error: str | None,
) -> HTMLResponse:
    """The decided row, and the progress beside it (an out-of-band swap)."""
    views = c.access_reviews.views
    header = views.review(review_id, user.principal)
    item = views.item(review_id, item_id, user.principal, lang)
    return render(
        request,
        "reviews/_decided.html",
        {"review": header, "item": item, "error": error, "back": ""},
    )


@router.post("/{review_id}/keep-selected")
async def keep_selected(
    request: Request,
    review_id: int,
    user: Viewer,
    item_ids: Annotated[list[int], Form(max_length=500)],
    back: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    c = _container(request)
    await run_in_threadpool(
        c.access_reviews.decisions.decide,
        review_id,
        item_ids,
        ItemDecision.KEEP,
        "",
        user.principal,
    )
    return see_other(_safe_back(back, review_id), notice="notice.review_decided")


@router.post("/{review_id}/bulk-keep")
async def bulk_keep(request: Request, review_id: int, user: Viewer) -> Response:
    c = _container(request)
    await run_in_threadpool(
        c.access_reviews.decisions.bulk_keep, review_id, user.principal
    )
    return see_other(f"/console/reviews/{review_id}", notice="notice.review_bulk_kept")


@router.post("/{review_id}/sign-off")
async def sign_off(request: Request, review_id: int, user: Viewer) -> Response:
    c = _container(request)
    await run_in_threadpool(
        c.access_reviews.decisions.sign_off, review_id, user.principal
    )
    return see_other(
        f"/console/reviews/{review_id}?status=all", notice="notice.review_signed_off"
    )


@router.post("/{review_id}/delegate")
async def delegate(
    request: Request,
    review_id: int,
    user: Viewer,
    employee_id: Annotated[str, Form(min_length=1, max_length=64)],
    reason: Annotated[str, Form(min_length=1, max_length=2000)],
) -> Response:
    c = _container(request)
    await run_in_threadpool(
        c.access_reviews.decisions.delegate,
        review_id,
        employee_id.strip(),
        reason,
        user.principal,
    )
    return see_other("/console/reviews", notice="notice.review_delegated")


def _query(filters: dict[str, Any], page: int) -> str:
    return "?" + urlencode({**filters, "page": page})


def _safe_back(back: str, review_id: int) -> str:
    """Only back to this review's page: never an open redirect."""
    prefix = f"/console/reviews/{review_id}"
    if back == prefix or back.startswith(prefix + "?"):
        return back
    return prefix
