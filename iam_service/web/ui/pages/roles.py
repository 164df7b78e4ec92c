"""Console roles (ADR 0013): who is HR, system administrator, security
officer or auditor. The security officer grants and revokes, never for
themselves (5.3); department heads come from the departments."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from iam_service.bootstrap import Container
from iam_service.domain.console import ASSIGNABLE_ROLES
from iam_service.domain.security import Role
from iam_service.web.ui.guard import ConsoleUser, allow
from iam_service.web.ui.nav import NavEntry
from iam_service.web.ui.rendering import render, see_other

router = APIRouter(prefix="/console/roles", include_in_schema=False)
READERS = (Role.SECURITY_OFFICER, Role.SYSADMIN, Role.AUDITOR)
Reader = Annotated[ConsoleUser, Depends(allow(*READERS))]
Officer = Annotated[ConsoleUser, Depends(allow(Role.SECURITY_OFFICER))]
NAV = [NavEntry("roles", "/console/roles", "nav.roles", roles=READERS, order=50)]
Reason = Annotated[str, Form(min_length=1, max_length=2000)]


@router.get("")
def roles(request: Request, user: Reader) -> HTMLResponse:
    c: Container = request.app.state.container
    return render(
        request,
        "roles/list.html",
        {
            "assignments": c.console.roles.list(),
            "departments": c.departments.all(),
            "assignable": sorted(ASSIGNABLE_ROLES),
            "can_manage": user.has(Role.SECURITY_OFFICER),
        },
        nav="roles",
    )


@router.post("")
async def grant(
    request: Request,
    user: Officer,
    employee_id: Annotated[str, Form(min_length=1, max_length=64)],
    role: Annotated[Role, Form()],
    reason: Reason,
) -> Response:
    c: Container = request.app.state.container
    await run_in_threadpool(
        c.console.roles.grant, employee_id.strip(), role, user.principal, reason
    )
    return see_other("/console/roles", notice="notice.role_granted")


@router.post("/{employee_id}/{role}/revoke")
async def revoke(
    request: Request, employee_id: str, role: Role, user: Officer, reason: Reason
) -> Response:
    c: Container = request.app.state.container
    await run_in_threadpool(
        c.console.roles.revoke, employee_id, role, user.principal, reason
    )
    return see_other("/console/roles", notice="notice.role_revoked")
