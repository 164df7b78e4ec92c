"""Offboarding reports, as JSON and as CSV (UTF-8 with BOM, Japanese and
English headers, formula-safe cells), for the ISMS records (5.11, 5.18):

* ``outstanding-assets``: assets not yet returned or written off in open
  cases, by the leaver's department, with a summary per department;
* ``open-cases``: every open case with its age and what is outstanding;
* ``timings``: per case, the time from the termination to every account
  verified disabled (hours) and to the case closed (days), with the median
  and the maximum.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from iam_service.domain.offboarding import (
    CaseStatus,
    ItemKind,
    ItemStatus,
    OffboardingCase,
)
from iam_service.domain.offboarding_progress import (
    outstanding_for_close,
)
from iam_service.services.errors import NotFoundError
from iam_service.services.offboarding import account_progress, all_disabled_at
from iam_service.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

_LABELS = {
    "department": "部門",
    "department_name": "部門名",
    "case_id": "ケース",
    "employee_id": "社員番号",
    "name": "氏名",
    "tag": "資産番号",
    "type": "種別",
    "description": "品名",
    "status": "状態",
    "terminated_at": "退職日時 (UTC)",
    "opened_at": "開始日時 (UTC)",
    "age_days": "経過日数",
    "outstanding": "未完了件数",
    "assets_outstanding": "未返却資産",
    "all_disabled": "全アカウント無効化済み",
    "all_disabled_at": "全アカウント無効化日時 (UTC)",
    "hours_to_all_disabled": "無効化までの時間",
    "closed_at": "完了日時 (UTC)",
    "days_to_closed": "完了までの日数",
}


@dataclass(frozen=True)
class Report:
    name: str
    columns: tuple[str, ...]
    rows: list[dict[str, Any]]
    summary: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"report": self.name, "summary": self.summary, "rows": self.rows}

    def csv(self) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow([f"{_LABELS.get(c, c)} [{c}]" for c in self.columns])
        for row in self.rows:
            writer.writerow([_cell(row.get(c)) for c in self.columns])
        return ("\ufeff" + out.getvalue()).encode("utf-8")


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


class OffboardingReports:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self.uow_factory = uow_factory
        self._reports: dict[str, Callable[[UnitOfWork], Report]] = {
            "outstanding-assets": _outstanding_assets,
            "open-cases": _open_cases,
            "timings": _timings,
        }

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._reports)

    def report(self, name: str) -> Report:
        build = self._reports.get(name)
        if build is None:
            raise NotFoundError(
                f"no report {name!r}; the reports are {', '.join(self._reports)}"
            )
        with self.uow_factory() as uow:
            return build(uow)


def _open(uow: UnitOfWork) -> Sequence[OffboardingCase]:
    return uow.offboarding.find(status=CaseStatus.OPEN, limit=1_000_000)


def _outstanding_assets(uow: UnitOfWork) -> Report:
    now = uow.clock.now()
    cases = {c.id: c for c in _open(uow)}
    rows: list[dict[str, Any]] = []
    for item in uow.offboarding.items_of([i for i in cases if i is not None]):
        if item.kind is not ItemKind.ASSET_RETURN or not item.blocks_closing:
            continue
        case = cases[item.case_id]
        asset = uow.assets.get(item.asset_id) if item.asset_id else None
        rows.append(
            {
                "department": case.department_code,
                "case_id": case.id,
                "employee_id": case.employee_id,
                "name": case.person_name,
                "tag": asset.tag if asset else None,
                "type": str(asset.asset_type) if asset else None,
                "description": asset.description if asset else item.title,
                "status": str(item.status),
                "age_days": case.age_days(now),
            }
        )
    rows.sort(key=lambda r: (r["department"], r["case_id"], r["tag"] or ""))
    by_department: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = by_department.setdefault(
            row["department"],
            {"assets": 0, "cases": set(), "awaiting_approval": 0, "oldest_days": 0},
        )
        entry["assets"] += 1
        entry["cases"].add(row["case_id"])
        entry["awaiting_approval"] += row["status"] == ItemStatus.WRITE_OFF_REQUESTED
        entry["oldest_days"] = max(entry["oldest_days"], row["age_days"])
    summary = {
        code: {
            "name": _department_name(uow, code),
            "assets": e["assets"],
            "cases": len(e["cases"]),
            "awaiting_approval": e["awaiting_approval"],
            "oldest_days": e["oldest_days"],
        }
        for code, e in sorted(by_department.items())
    }
    columns = (
        "department",
        "case_id",
        "employee_id",
        "name",
        "tag",
        "type",
        "description",
        "status",
        "age_days",
    )
    return Report("outstanding-assets", columns, rows, {"departments": summary})


def _department_name(uow: UnitOfWork, code: str) -> str:
    department = uow.departments.get(code)
    return department.name if department else code


def _open_cases(uow: UnitOfWork) -> Report:
    now = uow.clock.now()
    rows: list[dict[str, Any]] = []
    for case in _open(uow):
        accounts = account_progress(uow, case)
        items = uow.offboarding.items(case.id or 0)
        rows.append(
            {
                "case_id": case.id,
                "employee_id": case.employee_id,
                "name": case.person_name,
                "department": case.department_code,
                "opened_at": case.opened_at.isoformat(),
                "age_days": case.age_days(now),
                "outstanding": len(outstanding_for_close(items, accounts)),
                "assets_outstanding": sum(
                    1
                    for i in items
                    if i.kind is ItemKind.ASSET_RETURN and i.blocks_closing
                ),
                "all_disabled": all(a.disabled_verified for a in accounts),
            }
        )
    rows.sort(key=lambda r: -r["age_days"])
    ages = [r["age_days"] for r in rows]
    summary = {"open": len(rows), "oldest_days": max(ages, default=0)}
    columns = (
        "case_id",
        "employee_id",
        "name",
        "department",
        "opened_at",
        "age_days",
        "outstanding",
        "assets_outstanding",
        "all_disabled",
    )
    return Report("open-cases", columns, rows, summary)


def _timings(uow: UnitOfWork) -> Report:
    rows: list[dict[str, Any]] = []
    for case in uow.offboarding.find(limit=1_000_000):
        if case.status is CaseStatus.CANCELLED:
            continue
        disabled = all_disabled_at(uow, case, account_progress(uow, case))
        rows.append(
            {
                "case_id": case.id,
                "employee_id": case.employee_id,
                "department": case.department_code,
                "terminated_at": case.terminated_at.isoformat(),
                "all_disabled_at": disabled.isoformat() if disabled else None,
                "hours_to_all_disabled": _hours(case.terminated_at, disabled),
                "closed_at": case.closed_at.isoformat() if case.closed_at else None,
                "days_to_closed": _days(case.terminated_at, case.closed_at),
            }
        )
    rows.sort(key=lambda r: r["case_id"])
    columns = (
        "case_id",
        "employee_id",
        "department",
        "terminated_at",
        "all_disabled_at",
        "hours_to_all_disabled",
        "closed_at",
        "days_to_closed",
    )
    summary = {
        "cases": len(rows),
        "hours_to_all_disabled": _stats([r["hours_to_all_disabled"] for r in rows]),
        "days_to_closed": _stats([r["days_to_closed"] for r in rows]),
    }
    return Report("timings", columns, rows, summary)


def _hours(start: datetime, end: datetime | None) -> float | None:
    if end is None:
        return None
    return round(max(0.0, (end - start).total_seconds()) / 3600, 2)


def _days(start: datetime, end: datetime | None) -> float | None:
    if end is None:
        return None
    return round(max(0.0, (end - start).total_seconds()) / 86400, 2)


def _stats(values: list[float | None]) -> dict[str, float | int | None]:
    known = [v for v in values if v is not None]
    return {
        "count": len(known),
        "median": round(statistics.median(known), 2) if known else None,
        "max": max(known) if known else None,
    }
