"""``/api/v1/offboarding``: offboarding cases (5.11 with 5.18), planned
terminations and the reports.

A termination opens a case by itself. HR and system administrators record
returns and tasks and close the case; only the security officer decides a
write-off, never one they asked for (403, 5.3), and runs a planned
termination now. Closing with anything outstanding is 409
``case_outstanding`` listing each item in ``error.details``. Auditors read.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from iam_service.domain.hr import EMPLOYEE_ID_PATTERN
from iam_service.domain.offboarding import CaseStatus
from iam_service.domain.security import Role
from iam_service.services.auth import Principal
from iam_service.services.offboarding_bodies import (
    CloseBody,
    CompleteBody,
    DecisionBody,
    RejectBody,
    ReturnBody,
    WaiveBody,
    WriteOffBody,
)
from iam_service.web.api.deps import ContainerDep, require

router = APIRouter(prefix="/api/v1/offboarding", tags=["offboarding"])
Reader = Annotated[
    Principal,
    Depends(require(Role.HR, Role.SYSADMIN, Role.SECURITY_OFFICER, Role.AUDITOR)),
]
Worker = Annotated[Principal, Depends(require(Role.HR, Role.SYSADMIN))]
SecurityOfficer = Annotated[Principal, Depends(require(Role.SECURITY_OFFICER))]


class RunNowBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=1, max_length=2000)


@router.get("/cases")
async def list_cases(
    c: ContainerDep,
    _: Reader,
    status: CaseStatus | None = None,
    department: str | None = None,
    employee_id: Annotated[str | None, Query(pattern=EMPLOYEE_ID_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    cases = c.offboarding.cases
    if employee_id is not None:
        return {"cases": await run_in_threadpool(cases.for_person, employee_id)}
    found = await run_in_threadpool(
        cases.find, status=status, department=department, limit=limit, offset=offset
    )
    return {"cases": found}


@router.get("/cases/{case_id}")
async def get_case(case_id: int, c: ContainerDep, _: Reader) -> dict[str, Any]:
    """The case with each account's state as verified by read-back, the
    checklist, what is outstanding and the escalations sent."""
    return await run_in_threadpool(c.offboarding.cases.get, case_id)


@router.post("/cases/{case_id}/assets/{tag}/return")
async def return_asset(
    case_id: int, tag: str, body: ReturnBody, c: ContainerDep, who: Worker
) -> dict[str, Any]:
    return await run_in_threadpool(
        c.offboarding.cases.return_asset, case_id, tag, body, who
    )


@router.post("/cases/{case_id}/assets/{tag}/write-off")
async def request_write_off(
    case_id: int, tag: str, body: WriteOffBody, c: ContainerDep, who: Worker
) -> dict[str, Any]:
    """Ask for a write-off (lost, or written off) with a reason; it waits for
    the security officer."""
    return await run_in_threadpool(
        c.offboarding.cases.request_write_off, case_id, tag, body, who
    )


@router.post("/cases/{case_id}/assets/{tag}/write-off/approve")
async def approve_write_off(
    case_id: int, tag: str, body: DecisionBody, c: ContainerDep, who: SecurityOfficer
) -> dict[str, Any]:
    return await run_in_threadpool(
        c.offboarding.cases.decide_write_off, case_id, tag, True, body.note, who
    )


@router.post("/cases/{case_id}/assets/{tag}/write-off/reject")
async def reject_write_off(
    case_id: int, tag: str, body: RejectBody, c: ContainerDep, who: SecurityOfficer
) -> dict[str, Any]:
    return await run_in_threadpool(
        c.offboarding.cases.decide_write_off, case_id, tag, False, body.reason, who
    )


@router.post("/cases/{case_id}/items/{item_id}/complete")
async def complete_item(
    case_id: int, item_id: int, body: CompleteBody, c: ContainerDep, who: Worker
) -> dict[str, Any]:
    """A task done: a card deactivated, a custodianship handed over, data
    moved to the manager or archived."""
    return await run_in_threadpool(
        c.offboarding.cases.complete_item, case_id, item_id, body, who
    )


@router.post("/cases/{case_id}/items/{item_id}/waive")
async def waive_item(
    case_id: int, item_id: int, body: WaiveBody, c: ContainerDep, who: Worker
) -> dict[str, Any]:
    """Waive a data handover, with a reason."""
    return await run_in_threadpool(
        c.offboarding.cases.waive_item, case_id, item_id, body, who
    )


@router.post("/cases/{case_id}/close")
async def close_case(
    case_id: int, body: CloseBody, c: ContainerDep, who: Worker
) -> dict[str, Any]:
    return await run_in_threadpool(c.offboarding.cases.close, case_id, body, who)


@router.get("/planned-terminations")
async def planned_terminations(c: ContainerDep, _: Reader) -> dict[str, Any]:
    """Future-dated terminations waiting for their date."""
    return {"terminations": await run_in_threadpool(c.offboarding.planned.list)}


@router.post("/planned-terminations/{employee_id}/run-now")
async def run_termination_now(
    employee_id: str, body: RunNowBody, c: ContainerDep, who: SecurityOfficer
) -> dict[str, Any]:
    """The security officer applies a planned termination now, with a reason."""
    return await run_in_threadpool(
        c.offboarding.planned.run_now, employee_id, body.reason, who.actor
    )


@router.get("/reports/{name}.csv", response_class=Response)
async def report_csv(name: str, c: ContainerDep, _: Reader) -> Response:
    report = await run_in_threadpool(c.offboarding.reports.report, name)
    return Response(
        report.csv(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{report.name}.csv"'},
    )


@router.get("/reports/{name}")
async def report_json(name: str, c: ContainerDep, _: Reader) -> dict[str, Any]:
    """``outstanding-assets``, ``open-cases`` or ``timings``."""
    report = await run_in_threadpool(c.offboarding.reports.report, name)
    return report.as_dict()
