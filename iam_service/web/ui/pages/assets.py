"""The asset register in the console (5.9, 7.2, 7.10): the list with its
filters, CSV import (all or nothing, the bad rows shown) and export, one
asset with its holder history, hand-out and take-back, and the periodic
spare-card checks. Forms call the same use cases as the API."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from iam_service.bootstrap import Container
from iam_service.domain.assets import AssetCondition, AssetState, AssetType
from iam_service.domain.hr import EMPLOYEE_ID_PATTERN
from iam_service.domain.security import Role
from iam_service.services.asset_import import import_csv
from iam_service.services.asset_register import AssetReturn
from iam_service.services.card_checks import CheckResult
from iam_service.web.api.assets import MAX_CSV_BYTES
from iam_service.web.ui.guard import ConsoleUser, allow
from iam_service.web.ui.nav import HomeSection, NavEntry
from iam_service.web.ui.rendering import render, see_other

router = APIRouter(prefix="/console/assets", include_in_schema=False)
READERS = (Role.HR, Role.SYSADMIN, Role.SECURITY_OFFICER, Role.AUDITOR)
Reader = Annotated[ConsoleUser, Depends(allow(*READERS))]
Sysadmin = Annotated[ConsoleUser, Depends(allow(Role.SYSADMIN))]
Receiver = Annotated[ConsoleUser, Depends(allow(Role.HR, Role.SYSADMIN))]
EmployeeId = Annotated[str, Form(pattern=EMPLOYEE_ID_PATTERN)]
_E = TypeVar("_E", AssetType, AssetState)
NAV = [NavEntry("assets", "/console/assets", "nav.assets", READERS, 16)]


def _card_home(c: Container, _user: ConsoleUser) -> dict[str, Any]:
    checks = c.offboarding.card_checks.all()
    return {"open": next((k for k in checks if k["status"] == "open"), None)}


SECTIONS = [
    HomeSection(
        "sysadmin.card_checks",
        Role.SYSADMIN,
        "home.card_checks",
        "assets/_home.html",
        _card_home,
        40,
    )
]


def _c(request: Request) -> Container:
    found: Container = request.app.state.container
    return found


def _choice(value: str, kind: type[_E]) -> _E | None:
    return kind(value) if value in {m.value for m in kind} else None


@router.get("")
def assets(
    request: Request,
    user: Reader,
    asset_type: Annotated[str, Query(alias="type", max_length=32)] = "",
    state: Annotated[str, Query(max_length=32)] = "",
    holder: Annotated[str, Query(max_length=64)] = "",
) -> HTMLResponse:
    return _list(request, user, asset_type, state, holder)


def _list(
    request: Request,
    user: ConsoleUser,
    asset_type: str = "",
    state: str = "",
    holder: str = "",
    errors: list[dict[str, Any]] | None = None,
) -> HTMLResponse:
    register = _c(request).offboarding.assets
    found = register.find(
        asset_type=_choice(asset_type, AssetType),
        state=_choice(state, AssetState),
        holder=holder or None,
    )
    return render(
        request,
        "assets/list.html",
        {
            "assets": found,
            "filters": {"type": asset_type, "state": state, "holder": holder},
            "types": list(AssetType),
            "states": list(AssetState),
            "can_import": user.has(Role.SYSADMIN),
            "errors": errors or [],
        },
        status_code=422 if errors else 200,
        nav="assets",
    )


@router.post("/import")
async def import_assets(
    request: Request,
    user: Sysadmin,
    file: Annotated[UploadFile, File()],
    dry_run: Annotated[bool, Form()] = False,
) -> Response:
    raw = await file.read(MAX_CSV_BYTES + 1)
    try:
        if len(raw) > MAX_CSV_BYTES:
            raise ValueError(f"the file is larger than {MAX_CSV_BYTES} bytes")
        text = raw.decode("utf-8-sig")
    except (UnicodeDecodeError, ValueError) as error:
        problem = str(error) if isinstance(error, ValueError) else "not UTF-8"
        return _list(request, user, errors=[{"line": 1, "message": problem}])
    report = await run_in_threadpool(
        import_csv, _c(request).uow, text, actor=user.actor, dry_run=dry_run
    )
    if report.errors:
        return _list(request, user, errors=report.as_dict()["errors"])
    notice = "notice.assets_checked" if dry_run else "notice.assets_imported"
    return see_other("/console/assets", notice=notice)


@router.get("/card-checks")
def card_checks(request: Request, user: Reader) -> HTMLResponse:
    checks = _c(request).offboarding.card_checks.all()
    return render(
        request,
        "assets/card_checks.html",
        {"checks": checks, "can_complete": user.has(Role.SYSADMIN)},
        nav="assets",
    )


@router.post("/card-checks/{check_id}/complete")
async def complete_card_check(
    request: Request, check_id: int, user: Sysadmin
) -> Response:
    form = await request.form()
    present = [str(k)[len("card:") :] for k, v in form.items() if v == "present"]
    missing = [str(k)[len("card:") :] for k, v in form.items() if v == "missing"]
    body = CheckResult(present=present, missing=missing, note=str(form.get("note", "")))
    await run_in_threadpool(
        _c(request).offboarding.card_checks.complete, check_id, body, user.actor
    )
    return see_other("/console/assets/card-checks", notice="notice.card_check_done")


@router.get("/{tag}")
def asset(request: Request, tag: str, user: Reader) -> HTMLResponse:
    detail = _c(request).offboarding.assets.detail(tag)
    return render(
        request,
        "assets/asset.html",
        {
            "asset": detail,
            "conditions": list(AssetCondition),
            "can_assign": user.has(Role.SYSADMIN),
            "can_receive": user.has(Role.HR, Role.SYSADMIN),
            "can_audit": user.has(Role.AUDITOR, Role.SECURITY_OFFICER),
        },
        nav="assets",
    )


@router.post("/{tag}/assign")
async def assign(
    request: Request, tag: str, user: Sysadmin, employee_id: EmployeeId
) -> Response:
    register = _c(request).offboarding.assets
    await run_in_threadpool(register.assign, tag, employee_id, user.actor)
    return see_other(f"/console/assets/{tag}", notice="notice.asset_assigned")


@router.post("/{tag}/return")
async def take_back(
    request: Request,
    tag: str,
    user: Receiver,
    employee_id: EmployeeId,
    condition: Annotated[AssetCondition, Form()],
    received_by: Annotated[str, Form(min_length=1, max_length=200)],
) -> Response:
    body = AssetReturn(
        employee_id=employee_id, condition=condition, received_by=received_by
    )
    register = _c(request).offboarding.assets
    await run_in_threadpool(register.return_asset, tag, body, user.actor)
    return see_other(f"/console/assets/{tag}", notice="notice.asset_returned")
