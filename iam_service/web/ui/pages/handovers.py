"""Handovers of privileged accounts (5.18) and the one-time links that show
a rotated password once (5.17).

The security officer starts a handover and names the successor of a
termination or transfer; the successor (anyone signed in, checked by the
use case) opens their handover, asks for a one-time link per password,
signs in again if their sign-in is older than ``IAM_SECRET_REAUTH_MINUTES``,
and reveals it once; the link then answers 410 Gone.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from iam_service.bootstrap import Container
from iam_service.domain.privileged_requests import HandoverCreate, SuccessorUpdate
from iam_service.domain.security import Role
from iam_service.services.errors import Forbidden, InvalidInput, ServiceError
from iam_service.services.secret_vault import Gone, ReauthenticationRequired
from iam_service.web.ui.guard import ConsoleUser, Viewer, allow
from iam_service.web.ui.nav import NavEntry
from iam_service.web.ui.rendering import render, see_other

router = APIRouter(prefix="/console/privileged", include_in_schema=False)
Watcher = Annotated[ConsoleUser, Depends(allow(Role.SECURITY_OFFICER, Role.AUDITOR))]
Officer = Annotated[ConsoleUser, Depends(allow(Role.SECURITY_OFFICER))]
NAV = [NavEntry("handovers", "/console/privileged/mine", "nav.handovers", order=36)]
SECRETS = "/console/privileged/secrets/"


def _c(request: Request) -> Container:
    found: Container = request.app.state.container
    return found


@router.get("/handovers")
def handovers(request: Request, user: Watcher) -> HTMLResponse:
    return render(
        request,
        "privileged/handovers.html",
        {
            "handovers": _c(request).privileged.handovers.recent(),
            "can_start": user.has(Role.SECURITY_OFFICER),
        },
        nav="privileged",
    )


@router.post("/handovers")
async def start(
    request: Request,
    user: Officer,
    outgoing: Annotated[str, Form(max_length=64)],
    successor: Annotated[str, Form(max_length=64)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    try:
        body = HandoverCreate(
            outgoing_employee_id=outgoing,
            successor_employee_id=successor or None,
            reason=reason,
        )
    except ValidationError as error:
        raise InvalidInput(str(error.errors()[0].get("msg", "invalid"))) from None
    view = await run_in_threadpool(
        _c(request).privileged.handovers.start, body, user.principal
    )
    return see_other(
        f"/console/privileged/handovers/{view['id']}",
        notice="notice.privileged_handover_started",
    )


@router.get("/mine")
def mine(request: Request, user: Viewer) -> HTMLResponse:
    """The handovers whose passwords wait for the signed-in person."""
    found = _c(request).privileged.handovers.for_successor(user.employee_id or "")
    return render(
        request, "privileged/mine.html", {"handovers": found}, nav="handovers"
    )


@router.get("/handovers/{handover_id}")
def handover(request: Request, handover_id: int, user: Viewer) -> HTMLResponse:
    view = _c(request).privileged.handovers.view(handover_id)
    is_successor = bool(user.employee_id) and view["successor"] == user.employee_id
    if not (is_successor or user.has(Role.SECURITY_OFFICER, Role.AUDITOR)):
        raise Forbidden("only the successor and the security officer see a handover")
    return render(
        request,
        "privileged/handover.html",
        {
            "handover": view,
            "me": user.employee_id,
            "can_name": user.has(Role.SECURITY_OFFICER) and not view["successor"],
        },
        nav="handovers" if is_successor else "privileged",
    )


@router.post("/handovers/{handover_id}/successor")
async def name_successor(
    request: Request,
    handover_id: int,
    user: Officer,
    successor: Annotated[str, Form(min_length=1, max_length=64)],
) -> Response:
    try:
        body = SuccessorUpdate(successor_employee_id=successor)
    except ValidationError as error:
        raise InvalidInput(str(error.errors()[0].get("msg", "invalid"))) from None
    await run_in_threadpool(
        _c(request).privileged.handovers.name_successor,
        handover_id,
        body,
        user.principal,
    )
    return see_other(
        f"/console/privileged/handovers/{handover_id}",
        notice="notice.privileged_successor_named",
    )


@router.post("/rotations/{rotation_id}/link")
async def issue_link(request: Request, rotation_id: int, user: Viewer) -> Response:
    token = await run_in_threadpool(
        _c(request).privileged.links.issue, rotation_id, user.principal
    )
    return see_other(SECRETS + token)


@router.post("/rotations/{rotation_id}/confirm")
async def confirm(request: Request, rotation_id: int, user: Viewer) -> Response:
    await run_in_threadpool(
        _c(request).privileged.links.confirm, rotation_id, user.principal
    )
    return see_other("/console/privileged/mine", notice="notice.privileged_confirmed")


@router.get("/secrets/{token}")
def secret_link(request: Request, token: str, user: Viewer) -> HTMLResponse:
    """The one-time link: gone, sign in again, or a button to show it."""
    try:
        view = _c(request).privileged.links.open(token, user.principal, user.session_id)
    except (Gone, ReauthenticationRequired) as error:
        return _link_problem(request, token, error)
    return render(request, "privileged/secret.html", {"rotation": view, "token": token})


@router.post("/secrets/{token}")
async def reveal(request: Request, token: str, user: Viewer) -> HTMLResponse:
    """Show the password once; it is destroyed as this page is rendered."""
    try:
        view, secret = await run_in_threadpool(
            _c(request).privileged.links.reveal, token, user.principal, user.session_id
        )
    except (Gone, ReauthenticationRequired) as error:
        return _link_problem(request, token, error)
    return render(
        request,
        "privileged/secret.html",
        {"rotation": view, "password": secret.reveal(), "token": None},
    )


def _link_problem(request: Request, token: str, error: ServiceError) -> HTMLResponse:
    path = SECRETS + token
    again = f"/console/sign-in?reauth=1&next={quote(path, safe='/')}"
    return render(
        request,
        "privileged/secret_problem.html",
        {"gone": isinstance(error, Gone), "message": error.message, "again": again},
        status_code=error.status_code,
    )
