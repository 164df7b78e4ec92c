"""Offboarding cases in the console (5.11, 5.18): the list, one case with its
accounts as verified by read-back and its checklist, the forms that work it
(returns, write-offs, tasks, closing) and the reports. Every form calls the
same use case as the API (``services/offboarding_cases.py``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from iam_service.bootstrap import Container
from iam_service.domain.assets import AssetCondition
from iam_service.domain.offboarding import CaseStatus, Resolution, WriteOffKind
from iam_service.domain.security import Role
from iam_service.services.offboarding_bodies import (
    CloseBody,
    CompleteBody,
    ReturnBody,
    WaiveBody,
    WriteOffBody,
)
from iam_service.web.ui.guard import ConsoleUser, allow
from iam_service.web.ui.nav import HomeSection, NavEntry
from iam_service.web.ui.rendering import render, see_other

router = APIRouter(prefix="/console/offboarding", include_in_schema=False)
READERS = (Role.HR, Role.SYSADMIN, Role.SECURITY_OFFICER, Role.AUDITOR)
Reader = Annotated[ConsoleUser, Depends(allow(*READERS))]
Worker = Annotated[ConsoleUser, Depends(allow(Role.HR, Role.SYSADMIN))]
Officer = Annotated[ConsoleUser, Depends(allow(Role.SECURITY_OFFICER))]
Text = Annotated[str, Form(max_length=2000)]
Reason = Annotated[str, Form(min_length=1, max_length=2000)]
NAV = [NavEntry("offboarding", "/console/offboarding", "nav.offboarding", READERS, 15)]
REPORTS = ("outstanding-assets", "open-cases", "timings")


def _hr_home(c: Container, _user: ConsoleUser) -> dict[str, Any]:
    report = c.offboarding.reports.report("open-cases")
    return {
        "open": report.summary["open"],
        "oldest": report.summary["oldest_days"],
        "assets": sum(r["assets_outstanding"] for r in report.rows),
    }


def _officer_home(c: Container, _user: ConsoleUser) -> dict[str, Any]:
    return {"write_offs": c.offboarding.cases.write_offs_waiting()}


SECTIONS = [
    HomeSection(
        "hr.offboarding",
        Role.HR,
        "home.offboarding",
        "offboarding/_home.html",
        _hr_home,
        20,
    ),
    HomeSection(
        "security_officer.write_offs",
        Role.SECURITY_OFFICER,
        "home.write_offs",
        "offboarding/_write_offs.html",
        _officer_home,
        30,
    ),
]


def _c(request: Request) -> Container:
    found: Container = request.app.state.container
    return found


@router.get("")
def cases(
    request: Request,
    _: Reader,
    status: Annotated[str, Query(max_length=16)] = "open",
) -> HTMLResponse:
    wanted = CaseStatus(status) if status in set(CaseStatus) else None
    found = _c(request).offboarding.cases.find(status=wanted, limit=500)
    return render(
        request,
        "offboarding/list.html",
        {"cases": found, "status": status, "statuses": list(CaseStatus)},
        nav="offboarding",
    )


@router.get("/reports")
def reports(request: Request, _: Reader) -> HTMLResponse:
    service = _c(request).offboarding.reports
    built = {name: service.report(name) for name in REPORTS}
    return render(
        request, "offboarding/reports.html", {"reports": built}, nav="offboarding"
    )


@router.get("/{case_id}")
def case(request: Request, case_id: int, user: Reader) -> HTMLResponse:
    detail = _c(request).offboarding.cases.get(case_id)
    return render(
        request,
        "offboarding/case.html",
        {
            "case": detail,
            "can_work": user.has(Role.HR, Role.SYSADMIN),
            "can_approve": user.has(Role.SECURITY_OFFICER),
            "can_audit": user.has(Role.AUDITOR, Role.SECURITY_OFFICER),
            "conditions": list(AssetCondition),
            "write_off_kinds": list(WriteOffKind),
            "data_outcomes": [Resolution.MOVED_TO_MANAGER, Resolution.ARCHIVED],
            "entry_system": _c(request).policy().offboarding.entry_system,
        },
        nav="offboarding",
    )


def _back(case_id: int, notice: str) -> Response:
    return see_other(f"/console/offboarding/{case_id}", notice=f"notice.{notice}")


@router.post("/{case_id}/assets/{tag}/return")
async def return_asset(
    request: Request,
    case_id: int,
    tag: str,
    user: Worker,
    condition: Annotated[AssetCondition, Form()],
    received_by: Annotated[str, Form(min_length=1, max_length=200)],
    note: Text = "",
) -> Response:
    body = ReturnBody(condition=condition, received_by=received_by, note=note)
    await run_in_threadpool(
        _c(request).offboarding.cases.return_asset, case_id, tag, body, user.principal
    )
    return _back(case_id, "asset_returned")


@router.post("/{case_id}/assets/{tag}/write-off")
async def request_write_off(
    request: Request,
    case_id: int,
    tag: str,
    user: Worker,
    kind: Annotated[WriteOffKind, Form()],
    reason: Reason,
) -> Response:
    body = WriteOffBody(kind=kind, reason=reason)
    await run_in_threadpool(
        _c(request).offboarding.cases.request_write_off,
        case_id,
        tag,
        body,
        user.principal,
    )
    return _back(case_id, "write_off_requested")


@router.post("/{case_id}/assets/{tag}/write-off/approve")
async def approve_write_off(
    request: Request, case_id: int, tag: str, user: Officer, note: Text = ""
) -> Response:
    cases = _c(request).offboarding.cases
    await run_in_threadpool(
        cases.decide_write_off, case_id, tag, True, note, user.principal
    )
    return _back(case_id, "write_off_decided")


@router.post("/{case_id}/assets/{tag}/write-off/reject")
async def reject_write_off(
    request: Request, case_id: int, tag: str, user: Officer, reason: Reason
) -> Response:
    cases = _c(request).offboarding.cases
    await run_in_threadpool(
        cases.decide_write_off, case_id, tag, False, reason, user.principal
    )
    return _back(case_id, "write_off_decided")


@router.post("/{case_id}/items/{item_id}/complete")
async def complete_item(
    request: Request,
    case_id: int,
    item_id: int,
    user: Worker,
    resolution: Annotated[Resolution, Form()],
    note: Text = "",
    received_by: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    body = CompleteBody(
        resolution=resolution, note=note, received_by=received_by or None
    )
    await run_in_threadpool(
        _c(request).offboarding.cases.complete_item,
        case_id,
        item_id,
        body,
        user.principal,
    )
    return _back(case_id, "item_done")


@router.post("/{case_id}/items/{item_id}/waive")
async def waive_item(
    request: Request, case_id: int, item_id: int, user: Worker, reason: Reason
) -> Response:
    body = WaiveBody(reason=reason)
    await run_in_threadpool(
        _c(request).offboarding.cases.waive_item, case_id, item_id, body, user.principal
    )
    return _back(case_id, "item_done")


@router.post("/{case_id}/close")
async def close(
    request: Request, case_id: int, user: Worker, note: Text = ""
) -> Response:
    await run_in_threadpool(
        _c(request).offboarding.cases.close,
        case_id,
        CloseBody(note=note),
        user.principal,
    )
    return _back(case_id, "case_closed")
