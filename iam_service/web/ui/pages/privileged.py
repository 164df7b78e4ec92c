"""The privileged-account inventory (8.2): the security officer's page.

Every privileged account found in the connected systems or registered by
hand for a manual one, with its owner, custodians, approvals and flags;
discovery on demand, approvals, custodians, a rotation now, the CSV for the
ISMS records. Handovers and one-time links are in ``pages/handovers.py``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from iam_service.bootstrap import Container
from iam_service.domain.privileged import OwnerKind
from iam_service.domain.privileged_requests import (
    ApprovalCreate,
    CustodianChange,
    ManualAccountCreate,
    OwnerUpdate,
    RotationCreate,
)
from iam_service.domain.security import Role
from iam_service.services.errors import InvalidInput
from iam_service.web.ui.guard import ConsoleUser, allow
from iam_service.web.ui.nav import HomeSection, NavEntry
from iam_service.web.ui.rendering import render, see_other

router = APIRouter(prefix="/console/privileged", include_in_schema=False)
READERS = (Role.SECURITY_OFFICER, Role.SYSADMIN, Role.AUDITOR)
Reader = Annotated[ConsoleUser, Depends(allow(*READERS))]
Keeper = Annotated[ConsoleUser, Depends(allow(Role.SECURITY_OFFICER, Role.SYSADMIN))]
Officer = Annotated[ConsoleUser, Depends(allow(Role.SECURITY_OFFICER))]
NAV = [
    NavEntry(
        "privileged", "/console/privileged", "nav.privileged", roles=READERS, order=35
    )
]
Text = Annotated[str, Form(max_length=2000)]


def _summary(c: Container, _user: ConsoleUser) -> dict[str, Any]:
    accounts = c.privileged.inventory.accounts()
    counts: dict[str, int] = {}
    for account in accounts:
        for flag in account["flags"]:
            counts[flag] = counts.get(flag, 0) + 1
    return {"total": len(accounts), "flags": counts}


SECTIONS = [
    HomeSection(
        "security_officer.privileged",
        Role.SECURITY_OFFICER,
        "home.privileged",
        "privileged/_home.html",
        _summary,
        10,
    )
]


def _c(request: Request) -> Container:
    found: Container = request.app.state.container
    return found


@router.get("")
def inventory(request: Request, user: Reader, flagged: bool = False) -> HTMLResponse:
    c = _c(request)
    systems = [s for s in c.register.systems() if s.kind == "manual"]
    return render(
        request,
        "privileged/list.html",
        {
            "accounts": c.privileged.inventory.accounts(flagged_only=flagged),
            "flagged": flagged,
            "manual_systems": systems,
            "can_keep": user.has(Role.SECURITY_OFFICER, Role.SYSADMIN),
        },
        nav="privileged",
    )


@router.post("/discover")
async def discover(request: Request, user: Keeper) -> Response:
    c = _c(request)
    await run_in_threadpool(c.privileged.discovery.discover, None, actor=user.actor)
    return see_other("/console/privileged", notice="notice.privileged_discovered")


@router.post("/manual")
async def register_manual(
    request: Request,
    user: Keeper,
    system_key: Annotated[str, Form(max_length=64)],
    username: Annotated[str, Form(max_length=256)],
    description: Text = "",
    owner: Annotated[str, Form(max_length=64)] = "",
    service: Annotated[str, Form(max_length=200)] = "",
    custodian: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """An admin account of a system with no API, registered by hand."""
    try:
        owner_body = (
            OwnerUpdate(
                kind=OwnerKind.SERVICE if service else OwnerKind.PERSON,
                employee_id=owner,
                service_name=service or None,
            )
            if owner
            else None
        )
        body = ManualAccountCreate(
            system_key=system_key,
            username=username,
            description=description,
            owner=owner_body,
            custodians=(custodian,) if custodian else (),
        )
    except ValidationError as error:
        raise InvalidInput(_first(error)) from None
    view = await run_in_threadpool(
        _c(request).privileged.inventory.register_manual, body, user.principal
    )
    return see_other(
        f"/console/privileged/{view['id']}", notice="notice.privileged_registered"
    )


@router.get("/{account_id}")
def account(request: Request, account_id: int, user: Reader) -> HTMLResponse:
    c = _c(request)
    return render(
        request,
        "privileged/account.html",
        {
            "account": c.privileged.inventory.account(account_id),
            "can_keep": user.has(Role.SECURITY_OFFICER, Role.SYSADMIN),
            "can_rotate": user.has(Role.SECURITY_OFFICER),
        },
        nav="privileged",
    )


@router.post("/{account_id}/approve")
async def approve(
    request: Request,
    account_id: int,
    user: Keeper,
    reason: Annotated[str, Form(min_length=1, max_length=2000)],
    authorisation: Text = "",
) -> Response:
    body = ApprovalCreate(reason=reason, authorisation=authorisation)
    await run_in_threadpool(
        _c(request).privileged.inventory.approve, account_id, body, user.principal
    )
    return see_other(
        f"/console/privileged/{account_id}", notice="notice.privileged_approved"
    )


@router.post("/{account_id}/custodians")
async def add_custodian(
    request: Request,
    account_id: int,
    user: Keeper,
    employee_id: Annotated[str, Form(min_length=1, max_length=64)],
    reason: Text = "",
) -> Response:
    try:
        body = CustodianChange(employee_id=employee_id, reason=reason)
    except ValidationError as error:
        raise InvalidInput(_first(error)) from None
    await run_in_threadpool(
        _c(request).privileged.inventory.add_custodian,
        account_id,
        body,
        user.principal,
    )
    return see_other(
        f"/console/privileged/{account_id}", notice="notice.privileged_custodian"
    )


@router.post("/{account_id}/rotate")
async def rotate(
    request: Request,
    account_id: int,
    user: Officer,
    recipient: Annotated[str, Form(max_length=64)] = "",
    reason: Text = "",
) -> Response:
    try:
        body = RotationCreate(recipient_employee_id=recipient or None, reason=reason)
    except ValidationError as error:
        raise InvalidInput(_first(error)) from None
    view = await run_in_threadpool(
        _c(request).privileged.handovers.rotate_account,
        account_id,
        body,
        user.principal,
    )
    return see_other(
        f"/console/privileged/handovers/{view['id']}",
        notice="notice.privileged_rotation_queued",
    )


def _first(error: ValidationError) -> str:
    problem = error.errors()[0]
    where = ".".join(str(x) for x in problem.get("loc", ()))
    return f"{where}: {problem.get('msg', 'invalid')}"
