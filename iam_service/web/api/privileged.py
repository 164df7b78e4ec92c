"""``/api/v1/privileged-accounts``, ``/api/v1/handovers``, ``/api/v1/rotations``:
the privileged-account inventory (8.2) and handovers with password
rotation (5.18).

Security officers, system administrators and auditors read the inventory;
system administrators and security officers register manual accounts,
set owners and custodians and record approvals (never for an account they
own or look after, 5.3); security officers start handovers and rotations.
A rotated password is never in any answer here: its recipient opens a
one-time link in the console (``/console/privileged/secrets/...``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response, status
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from iam_service.domain.privileged_requests import (
    ApprovalCreate,
    CustodianChange,
    HandoverCreate,
    ManualAccountCreate,
    OwnerUpdate,
    RotationCreate,
    SuccessorUpdate,
)
from iam_service.domain.security import Role
from iam_service.services.auth import Principal
from iam_service.web.api.deps import ContainerDep, principal, require

router = APIRouter(prefix="/api/v1/privileged-accounts", tags=["privileged"])
handovers_router = APIRouter(prefix="/api/v1/handovers", tags=["privileged"])
rotations_router = APIRouter(prefix="/api/v1/rotations", tags=["privileged"])
Reader = Annotated[
    Principal, Depends(require(Role.SECURITY_OFFICER, Role.SYSADMIN, Role.AUDITOR))
]
Keeper = Annotated[Principal, Depends(require(Role.SECURITY_OFFICER, Role.SYSADMIN))]
Officer = Annotated[Principal, Depends(require(Role.SECURITY_OFFICER))]
Anyone = Annotated[Principal, Depends(principal)]
LINK_PAGE = "/console/privileged/secrets/"


class RevokeBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=1, max_length=2000)


@router.get("")
async def list_accounts(
    c: ContainerDep, _: Reader, flagged: bool = False, system: str | None = None
) -> dict[str, Any]:
    found = await run_in_threadpool(
        c.privileged.inventory.accounts, flagged_only=flagged, system=system
    )
    return {"accounts": found}


@router.get("/export.csv", response_class=Response)
async def export_csv(c: ContainerDep, _: Reader) -> Response:
    """The inventory for the ISMS records (UTF-8 with BOM, stable columns)."""
    data = await run_in_threadpool(c.privileged.inventory.export_csv)
    return Response(
        data,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="privileged-accounts.csv"'
        },
    )


@router.post("/discover")
async def discover(
    c: ContainerDep, who: Keeper, system: str | None = None
) -> dict[str, Any]:
    """Read the approved systems' privileged accounts now (5.23 gate)."""
    reports = await run_in_threadpool(
        c.privileged.discovery.discover, system, actor=who.actor
    )
    return {"systems": [r.as_dict() for r in reports]}


@router.get("/{account_id}")
async def get_account(account_id: int, c: ContainerDep, _: Reader) -> dict[str, Any]:
    return await run_in_threadpool(c.privileged.inventory.account, account_id)


@router.post("", status_code=status.HTTP_201_CREATED)
async def register_manual(
    body: ManualAccountCreate, c: ContainerDep, who: Keeper
) -> dict[str, Any]:
    """An admin account of a system with no API (kind ``manual``)."""
    return await run_in_threadpool(c.privileged.inventory.register_manual, body, who)


@router.put("/{account_id}/owner")
async def set_owner(
    account_id: int, body: OwnerUpdate, c: ContainerDep, who: Keeper
) -> dict[str, Any]:
    return await run_in_threadpool(
        c.privileged.inventory.set_owner, account_id, body, who
    )


@router.post("/{account_id}/custodians")
async def add_custodian(
    account_id: int, body: CustodianChange, c: ContainerDep, who: Keeper
) -> dict[str, Any]:
    return await run_in_threadpool(
        c.privileged.inventory.add_custodian, account_id, body, who
    )


@router.post("/{account_id}/custodians/remove")
async def remove_custodian(
    account_id: int, body: CustodianChange, c: ContainerDep, who: Keeper
) -> dict[str, Any]:
    """End a custodianship without a rotation (use a handover to rotate)."""
    return await run_in_threadpool(
        c.privileged.inventory.remove_custodian, account_id, body, who
    )


@router.post("/{account_id}/approvals", status_code=status.HTTP_201_CREATED)
async def approve(
    account_id: int, body: ApprovalCreate, c: ContainerDep, who: Keeper
) -> dict[str, Any]:
    """8.2: record the approval that allows this account."""
    return await run_in_threadpool(
        c.privileged.inventory.approve, account_id, body, who
    )


@router.post("/{account_id}/approvals/{approval_id}/revoke")
async def revoke_approval(
    account_id: int, approval_id: int, body: RevokeBody, c: ContainerDep, who: Keeper
) -> dict[str, Any]:
    return await run_in_threadpool(
        c.privileged.inventory.revoke_approval,
        account_id,
        approval_id,
        who,
        body.reason,
    )


@router.post("/{account_id}/rotate", status_code=status.HTTP_202_ACCEPTED)
async def rotate(
    account_id: int, body: RotationCreate, c: ContainerDep, who: Officer
) -> dict[str, Any]:
    """Change this account's password now, through the queue."""
    return await run_in_threadpool(
        c.privileged.handovers.rotate_account, account_id, body, who
    )


@handovers_router.get("")
async def list_handovers(c: ContainerDep, _: Reader) -> dict[str, Any]:
    return {"handovers": await run_in_threadpool(c.privileged.handovers.recent)}


@handovers_router.post("", status_code=status.HTTP_202_ACCEPTED)
async def start_handover(
    body: HandoverCreate, c: ContainerDep, who: Officer
) -> dict[str, Any]:
    """5.18: hand the outgoing custodian's accounts over and rotate them."""
    return await run_in_threadpool(c.privileged.handovers.start, body, who)


@handovers_router.get("/{handover_id}")
async def get_handover(handover_id: int, c: ContainerDep, _: Reader) -> dict[str, Any]:
    return await run_in_threadpool(c.privileged.handovers.view, handover_id)


@handovers_router.put("/{handover_id}/successor")
async def name_successor(
    handover_id: int, body: SuccessorUpdate, c: ContainerDep, who: Officer
) -> dict[str, Any]:
    return await run_in_threadpool(
        c.privileged.handovers.name_successor, handover_id, body, who
    )


@rotations_router.post("/{rotation_id}/link", status_code=status.HTTP_201_CREATED)
async def issue_link(rotation_id: int, c: ContainerDep, who: Anyone) -> dict[str, Any]:
    """A one-time link for the rotation's recipient; it opens in the console
    after a fresh sign-in, shows the password once, then answers 410."""
    token = await run_in_threadpool(c.privileged.links.issue, rotation_id, who)
    return {"url": LINK_PAGE + token}


@rotations_router.post("/{rotation_id}/confirm")
async def confirm(rotation_id: int, c: ContainerDep, who: Anyone) -> dict[str, Any]:
    """A manual system: the recipient set the new password on the device."""
    return await run_in_threadpool(c.privileged.links.confirm, rotation_id, who)
