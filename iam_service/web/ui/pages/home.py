"""The role home pages: ``/console/`` shows the sections of the active role.

Sections that other features fill in are placeholders here, keyed so that a
page module declaring a ``HomeSection`` with the same key replaces them
(``docs/console.md``). Each placeholder links to the API that exists now.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from iam_service.bootstrap import Container
from iam_service.domain.security import Role
from iam_service.web.ui.guard import ConsoleUser, Viewer
from iam_service.web.ui.nav import HomeSection, NavEntry, Registry
from iam_service.web.ui.rendering import render

router = APIRouter(prefix="/console", include_in_schema=False)
NAV = [NavEntry("home", "/console/", "nav.home", order=0)]
PLACEHOLDER = "home/_placeholder.html"


def _placeholder(
    key: str, role: Role | None, title: str, text: str, api: str, order: int
) -> HomeSection:
    def load(_c: Container, _u: ConsoleUser) -> dict[str, Any]:
        return {"text": text, "api": api}

    return HomeSection(key, role, title, PLACEHOLDER, load, order, placeholder=True)


SECTIONS = [
    _placeholder(
        "hr.offboarding",
        Role.HR,
        "home.offboarding",
        "home.offboarding.soon",
        "/api/v1/offboarding/cases",
        20,
    ),
    _placeholder(
        "department_head.reviews",
        Role.DEPARTMENT_HEAD,
        "home.reviews",
        "home.reviews.soon",
        "/api/v1/reviews",
        10,
    ),
    _placeholder(
        "department_head.requests",
        Role.DEPARTMENT_HEAD,
        "home.requests",
        "home.requests.soon",
        "/api/v1/access-requests?status=pending",
        20,
    ),
    _placeholder(
        "security_officer.privileged",
        Role.SECURITY_OFFICER,
        "home.privileged",
        "home.privileged.soon",
        "/api/v1/privileged-accounts",
        10,
    ),
    _placeholder(
        "security_officer.approvals",
        Role.SECURITY_OFFICER,
        "home.approvals",
        "home.approvals.soon",
        "/api/v1/access-requests?status=pending",
        20,
    ),
    _placeholder(
        "auditor.reports",
        Role.AUDITOR,
        "home.reports",
        "home.reports.soon",
        "/api/v1/reviews",
        30,
    ),
]


@router.get("/")
def home(request: Request, user: Viewer) -> HTMLResponse:
    container: Container = request.app.state.container
    registry: Registry = request.app.state.console_registry
    sections = []
    for section in registry.sections_for(user.active_role):
        data = section.load(container, user) if section.load else {}
        sections.append({"section": section, "data": data})
    return render(
        request, "home.html", {"sections": sections, "user": user}, nav="home"
    )
