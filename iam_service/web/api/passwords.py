"""``/api/v1/passwords``: the interactive password check (5.17) and the
self-service change of one's own directory password.

``POST /check`` answers which rules a password breaks, zxcvbn's score,
warning and suggestions, in Japanese or English (``lang``, else the
console's language cookie, else Accept-Language). It is rate-limited per
caller and never stores, logs or audits the password; error answers never
echo it. ``POST /change`` verifies the current password by a bind, checks
the new one against our rules and queues the change (202); the operation
row names only a sealed secret (``services/password_changes.py``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from iam_service.domain.hr import EMPLOYEE_ID_PATTERN
from iam_service.services.auth import Principal
from iam_service.services.console_sessions import Client
from iam_service.services.password_changes import PasswordRefused
from iam_service.services.password_checks import MAX_INPUT
from iam_service.web.api.deps import ContainerDep, principal
from iam_service.web.errors import error_body
from iam_service.web.password_feedback import feedback, language
from iam_service.web.ui.i18n import Translator

router = APIRouter(prefix="/api/v1/passwords", tags=["passwords"])
Caller = Annotated[Principal, Depends(principal)]
Lang = Literal["ja", "en"]


class PasswordCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str = Field(max_length=MAX_INPUT)
    username: str | None = Field(default=None, max_length=200)
    employee_id: str | None = Field(default=None, pattern=EMPLOYEE_ID_PATTERN)
    lang: Lang | None = None


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    system: str = Field(min_length=1, max_length=64)
    current_password: str = Field(min_length=1, max_length=MAX_INPUT)
    new_password: str = Field(min_length=1, max_length=MAX_INPUT)
    lang: Lang | None = None


def client_of(request: Request) -> Client:
    host = request.client.host if request.client else "unknown"
    return Client(host, request.headers.get("user-agent", "")[:300])


@router.post("/check")
async def check_password(
    body: PasswordCheck,
    request: Request,
    c: ContainerDep,
    who: Caller,
    lang: Annotated[Lang | None, Query()] = None,
) -> dict[str, Any]:
    """Which rules the password breaks, with zxcvbn's feedback (5.17)."""
    checks = c.passwords.checks
    result = await run_in_threadpool(
        checks.check,
        body.password,
        employee_id=body.employee_id,
        username=body.username,
        caller=who.actor,
    )
    chosen = language(request, body.lang or lang)
    return feedback(result, checks.rules.min_score, chosen)


@router.get("/accounts")
async def changeable_accounts(c: ContainerDep, who: Caller) -> dict[str, Any]:
    """The caller's own accounts whose password they can change here."""
    found = await run_in_threadpool(c.passwords.changes.accounts, who)
    return {
        "accounts": [{"system": a.system_key, "username": a.username} for a in found]
    }


@router.post("/change", status_code=status.HTTP_202_ACCEPTED, response_model=None)
async def change_password(
    body: PasswordChange, request: Request, c: ContainerDep, who: Caller
) -> dict[str, Any] | JSONResponse:
    """Change the caller's own password: 202 with the operation to follow;
    400 wrong current password, 422 rules broken (which, localised), 429."""
    try:
        queued = await run_in_threadpool(
            c.passwords.changes.change,
            who,
            body.system,
            body.current_password,
            body.new_password,
            client_of(request),
        )
    except PasswordRefused as refused:
        chosen = language(request, body.lang)
        found = feedback(refused.result, c.passwords.checks.rules.min_score, chosen)
        message = Translator(chosen)("passwords.error.password_rules")
        return JSONResponse(
            error_body(refused.code, message, found["failures"]) | {"check": found},
            status_code=refused.status_code,
        )
    return {
        "operation_id": queued.operation_id,
        "system": queued.system_key,
        "username": queued.username,
        "status": "pending",
    }


@router.get("/changes/{operation_id}")
async def change_status(
    operation_id: int, c: ContainerDep, who: Caller
) -> dict[str, Any]:
    state = await run_in_threadpool(c.passwords.changes.status, who, operation_id)
    return {"operation_id": operation_id, "status": str(state)}
