"""``GET /api/v1/identities/{employee_id}``: a person, their accounts and
their state per system, their grants, and what is still pending."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from iam_service.bootstrap import Container
from iam_service.domain.security import Role
from iam_service.services.auth import Principal
from iam_service.services.errors import NotFoundError
from iam_service.services.register_gate import waiting_notes
from iam_service.web.api.deps import ContainerDep, require

router = APIRouter(prefix="/api/v1/identities", tags=["identities"])
_READERS = (Role.HR, Role.SYSADMIN, Role.SECURITY_OFFICER, Role.AUDITOR)


@router.get("/{employee_id}")
async def get_identity(
    employee_id: str,
    c: ContainerDep,
    _: Annotated[Principal, Depends(require(*_READERS))],
) -> dict[str, Any]:
    return await run_in_threadpool(identity_view, c, employee_id)


def identity_view(c: Container, employee_id: str) -> dict[str, Any]:
    with c.uow() as uow:
        person = uow.persons.by_employee_id(employee_id)
        if person is None or person.id is None:
            raise NotFoundError(f"no person with employee id {employee_id}")
        pending = uow.operations.for_person(person.id)
        # 5.23: operations for a system not approved wait, and say so.
        waiting = waiting_notes(uow, {op.system_key for op in pending})
        accounts = []
        for account in uow.accounts.for_person(person.id):
            mine = [op for op in pending if op.account_id == account.id]
            accounts.append(
                {
                    "system": account.system_key,
                    "username": account.username,
                    "native_id": account.native_id,
                    "state": str(account.status),
                    "desired": "enabled" if account.desired_enabled else "disabled",
                    "verified_at": account.verified_at.isoformat()
                    if account.verified_at
                    else None,
                    "in_sync": not mine
                    and (
                        account.status.value
                        == ("enabled" if account.desired_enabled else "disabled")
                    ),
                    "pending_operations": len(mine),
                    "waiting": waiting.get(account.system_key) if mine else None,
                }
            )
        grants = [
            {
                "entitlement": g.entitlement_ref,
                "source": str(g.source),
                "granted_at": g.granted_at.isoformat(),
                "expires_at": g.expires_at.isoformat() if g.expires_at else None,
            }
            for g in uow.grants.active_for_person(person.id)
        ]
        return {
            "person": person.snapshot() | {"flags": list(person.flags)},
            "accounts": accounts,
            "grants": grants,
            "pending_operations": [
                {
                    "id": op.id,
                    "system": op.system_key,
                    "kind": str(op.kind),
                    "status": str(op.status),
                    "attempts": op.attempts,
                    "next_attempt_at": op.next_attempt_at.isoformat()
                    if op.next_attempt_at
                    else None,
                    "last_error": op.last_error,
                    "waiting": waiting.get(op.system_key),
                }
                for op in pending
            ],
        }
