"""People (HR's view, and every reader of identities): search, status, and a
person's page with their accounts, grants and pending work."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from iam_service.bootstrap import Container
from iam_service.domain.model import PersonStatus
from iam_service.domain.security import Role
from iam_service.services.console_roles import roles_of
from iam_service.services.console_views import find_people
from iam_service.web.api.identities import identity_view
from iam_service.web.ui.guard import ConsoleUser, allow
from iam_service.web.ui.nav import HomeSection, NavEntry
from iam_service.web.ui.rendering import render

router = APIRouter(prefix="/console/people", include_in_schema=False)
READERS = (Role.HR, Role.SYSADMIN, Role.SECURITY_OFFICER, Role.AUDITOR)
Reader = Annotated[ConsoleUser, Depends(allow(*READERS))]
NAV = [NavEntry("people", "/console/people", "nav.people", roles=READERS, order=10)]


def _counts(c: Container, _user: ConsoleUser) -> dict[str, Any]:
    return {"counts": c.store_counts()["persons"]}


SECTIONS = [
    HomeSection("hr.people", Role.HR, "home.people", "people/_home.html", _counts, 10)
]


@router.get("")
def people(
    request: Request,
    _: Reader,
    q: Annotated[str, Query(max_length=100)] = "",
    status: Annotated[str, Query(max_length=32)] = "",
    page: Annotated[int, Query(ge=1)] = 1,
) -> HTMLResponse:
    c: Container = request.app.state.container
    wanted = PersonStatus(status) if status in set(PersonStatus) else None
    found, paging = find_people(c.uow, q, wanted, page)
    filters = {"q": q, "status": wanted.value if wanted else ""}
    return render(
        request,
        "people/list.html",
        {
            "people": found,
            "page": paging,
            "filters": filters,
            "statuses": list(PersonStatus),
        },
        nav="people",
    )


@router.get("/{employee_id}")
def person(request: Request, employee_id: str, _: Reader) -> HTMLResponse:
    c: Container = request.app.state.container
    view = identity_view(c, employee_id)  # 404 page if unknown
    with c.uow() as uow:
        roles = sorted(roles_of(uow, employee_id))
        sessions = len(uow.console_sessions.live_for_employee(employee_id))
    return render(
        request,
        "people/person.html",
        {"view": view, "roles": roles, "live_sessions": sessions},
        nav="people",
    )
