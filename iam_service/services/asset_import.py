"""The asset register as CSV: import (all or nothing) and export.

Import: UTF-8 (a BOM is fine), one asset per row. Every row is checked
first (its fields, and duplicates within the file); then all rows are
written in one transaction with a savepoint each, so a row the register
refuses (a serial already registered, an unknown holder) is reported with
its line and the file writes nothing. ``dry_run`` reports the same and
always rolls back. A header cell may carry a label before the key in
brackets (``シリアル番号 [serial]``), so an exported file imports again.

Export: the same columns plus the holder's name and department, UTF-8 with
a BOM so that Excel shows Japanese, cells starting with ``= + - @`` quoted
against formula injection.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from iam_service.domain.assets import AssetCreate, normalise_key
from iam_service.services.asset_records import add_asset, asset_view
from iam_service.services.csv_rows import (
    RowError,
    header_error,
    validation_message,
)
from iam_service.services.errors import ServiceError
from iam_service.services.unit_of_work import UnitOfWorkFactory

COLUMNS = (
    "asset_type",
    "tag",
    "serial",
    "description",
    "card_number",
    "holder_employee_id",
    "state",
    "note",
)
LABELS = {
    "asset_type": "種別",
    "tag": "資産番号",
    "serial": "シリアル番号",
    "description": "品名",
    "card_number": "カード番号",
    "holder_employee_id": "使用者 社員番号",
    "state": "状態",
    "note": "備考",
    "holder_name": "使用者",
    "department": "部門",
    "updated_at": "更新日時 (UTC)",
}
EXPORT_ONLY = ("holder_name", "department", "updated_at")
_BRACKETED = re.compile(r"\[([a-z_]+)\]\s*$")
_UNIQUE = ("tag", "serial", "card_number")


@dataclass
class ImportReport:
    rows: int = 0
    applied: bool = False
    dry_run: bool = False
    errors: list[RowError] = field(default_factory=list)
    created: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "applied": self.applied,
            "dry_run": self.dry_run,
            "created": self.created,
            "errors": [{"line": e.line, "message": e.message} for e in self.errors],
        }


def _key(cell: str) -> str:
    cell = cell.strip().lstrip("\ufeff")
    found = _BRACKETED.search(cell)
    return found.group(1) if found else cell


def parse_rows(text: str) -> tuple[list[tuple[int, AssetCreate]], list[RowError]]:
    """Validate every row; returns the good rows and the errors, by line."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = [_key(h) for h in next(reader, [])]
    wrong = header_error(header, (*COLUMNS, *EXPORT_ONLY), ("asset_type", "tag"))
    if wrong is not None:
        return [], [wrong]
    rows, errors = [], []
    seen: dict[tuple[str, str], int] = {}
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        values = {
            k: v.strip() for k, v in zip(header, cells, strict=False) if k in COLUMNS
        }
        try:
            row = AssetCreate.model_validate({k: v for k, v in values.items() if v})
        except ValidationError as error:
            errors.append(RowError(line, validation_message(error)))
            continue
        duplicate = _duplicate(row, line, seen)
        if duplicate:
            errors.append(RowError(line, duplicate))
            continue
        rows.append((line, row))
    return rows, errors


def _duplicate(row: AssetCreate, line: int, seen: dict[tuple[str, str], int]) -> str:
    for name in _UNIQUE:
        value = getattr(row, name)
        if not value:
            continue
        key = (name, value if name == "card_number" else normalise_key(value))
        if key in seen:
            label = name.replace("_", " ")
            return f"{label} {key[1]} is already used on line {seen[key]}"
        seen[key] = line
    return ""


def import_csv(
    uow_factory: UnitOfWorkFactory, text: str, *, actor: str, dry_run: bool
) -> ImportReport:
    rows, errors = parse_rows(text)
    report = ImportReport(rows=len(rows) + len(errors), errors=errors, dry_run=dry_run)
    if errors:
        return report
    with uow_factory() as uow:
        for line, row in rows:
            try:
                with uow.savepoint():
                    report.created.append(add_asset(uow, row, actor).tag)
            except ServiceError as error:
                report.errors.append(RowError(line, error.message))
        if report.errors or dry_run:
            uow.rollback()
            return report
        uow.record(
            actor,
            "asset.imported",
            "assets",
            after={"rows": report.rows, "tags": report.created},
        )
        uow.commit()
        report.applied = True
    return report


def export_csv(uow_factory: UnitOfWorkFactory) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    columns = (*COLUMNS, *EXPORT_ONLY)
    writer.writerow([f"{LABELS[c]} [{c}]" for c in columns])
    with uow_factory() as uow:
        for asset in uow.assets.find(limit=1_000_000):
            view = asset_view(uow, asset)
            holder = view["holder"] or {}
            values = {
                "asset_type": view["type"],
                "tag": view["tag"],
                "serial": view["serial"],
                "description": view["description"],
                "card_number": view["card_number"],
                "holder_employee_id": holder.get("employee_id"),
                "state": view["state"],
                "note": view["note"],
                "holder_name": holder.get("name"),
                "department": holder.get("department"),
                "updated_at": view["updated_at"],
            }
            writer.writerow(_safe(values[c]) for c in columns)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _safe(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
