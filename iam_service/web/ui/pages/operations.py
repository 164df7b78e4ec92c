"""The operation queue for system administrators: how much waits, what
failed, and a retry for dead operations (8.32: every change is an
operation, verified by read-back)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from iam_service.bootstrap import Container
from iam_service.domain.security import Role
from iam_service.services.console_views import queue_overview
from iam_service.services.errors import NotFoundError
from iam_service.web.ui.guard import ConsoleUser, allow
from iam_service.web.ui.nav import HomeSection, NavEntry
from iam_service.web.ui.rendering import render, see_other

router = APIRouter(prefix="/console/operations", include_in_schema=False)
Viewer = Annotated[
    ConsoleUser, Depends(allow(Role.SYSADMIN, Role.SECURITY_OFFICER, Role.AUDITOR))
]
Sysadmin = Annotated[ConsoleUser, Depends(allow(Role.SYSADMIN))]
NAV = [
    NavEntry(
        "operations",
        "/console/operations",
        "nav.operations",
        roles=(Role.SYSADMIN, Role.SECURITY_OFFICER, Role.AUDITOR),
        order=20,
    )
]


def _overview(c: Container, _user: ConsoleUser) -> dict[str, Any]:
    return queue_overview(c.uow, limit=5)


SECTIONS = [
    HomeSection(
        "sysadmin.queue",
        Role.SYSADMIN,
        "home.queue",
        "operations/_home.html",
        _overview,
        10,
    ),
    HomeSection(
        "sysadmin.failures",
        Role.SYSADMIN,
        "home.failures",
        "operations/_failures.html",
        _overview,
        20,
    ),
]


@router.get("")
def operations(request: Request, user: Viewer) -> HTMLResponse:
    c: Container = request.app.state.container
    overview = queue_overview(c.uow)
    return render(
        request,
        "operations/list.html",
        {"overview": overview, "can_retry": user.has(Role.SYSADMIN)},
        nav="operations",
    )


@router.post("/{operation_id}/retry")
async def retry(request: Request, operation_id: int, user: Sysadmin) -> Response:
    c: Container = request.app.state.container
    op = await run_in_threadpool(c.queue.retry_dead, operation_id, user.actor)
    if op is None:
        raise NotFoundError(f"no dead operation {operation_id}")
    return see_other("/console/operations", notice="notice.operation_requeued")
