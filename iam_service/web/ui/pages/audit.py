"""The audit trail, read-only (8.15, 5.35): filter by target, actor, action
and date, page through, and see whether the hash chain verifies."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from iam_service.bootstrap import Container
from iam_service.domain.security import Role
from iam_service.services import audit_trail
from iam_service.services.console_views import AuditFilter, search_audit
from iam_service.web.ui.guard import ConsoleUser, allow
from iam_service.web.ui.nav import HomeSection, NavEntry
from iam_service.web.ui.rendering import render

router = APIRouter(prefix="/console/audit", include_in_schema=False)
READERS = (Role.AUDITOR, Role.SECURITY_OFFICER)
Reader = Annotated[ConsoleUser, Depends(allow(*READERS))]
NAV = [NavEntry("audit", "/console/audit", "nav.audit", roles=READERS, order=40)]
Text = Annotated[str, Query(max_length=300)]


def _recent(c: Container, _user: ConsoleUser) -> dict[str, Any]:
    records, page = search_audit(
        c.uow, AuditFilter(), ZoneInfo(c.settings.timezone), 1, 5
    )
    return {"records": records, "total": page.total}


SECTIONS = [
    HomeSection(
        "auditor.audit", Role.AUDITOR, "home.audit", "audit/_home.html", _recent, 10
    )
]


@router.get("")
def trail(
    request: Request,
    _: Reader,
    target: Text = "",
    actor: Text = "",
    action: Text = "",
    since: Annotated[str, Query(max_length=10)] = "",
    until: Annotated[str, Query(max_length=10)] = "",
    page: Annotated[int, Query(ge=1)] = 1,
) -> HTMLResponse:
    c: Container = request.app.state.container
    since_day, until_day = _day(since), _day(until)
    filters = AuditFilter(target, actor, action, since_day, until_day)
    records, paging = search_audit(c.uow, filters, ZoneInfo(c.settings.timezone), page)
    query = {
        "target": target,
        "actor": actor,
        "action": action,
        "since": since_day.isoformat() if since_day else "",
        "until": until_day.isoformat() if until_day else "",
    }
    return render(
        request,
        "audit/list.html",
        {"records": records, "page": paging, "filters": query},
        nav="audit",
    )


def _day(value: str) -> date | None:
    """An empty or unreadable date field filters nothing."""
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@router.get("/verify")
def verify(request: Request, _: Reader) -> HTMLResponse:
    """The chain check: a fragment (htmx loads it) or a page of its own."""
    c: Container = request.app.state.container
    report = audit_trail.verify(c.uow)
    template = (
        "audit/_verify.html"
        if request.headers.get("hx-request")
        else "audit/verify.html"
    )
    return render(request, template, {"report": report}, nav="audit")
