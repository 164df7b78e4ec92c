"""``iamctl hr import FILE.csv``: a batch of HR events, all or nothing.

Every row is checked first, then applied in one transaction with a savepoint
per row, so a row that the service refuses (an unknown person, an e-mail in
use) is reported with its line and the file applies nothing. ``--dry-run``
reports the same and always rolls back.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from iam_service.domain.hr import HrEvent
from iam_service.services.csv_rows import RowError, header_error, validation_message
from iam_service.services.errors import ServiceError
from iam_service.services.hr_intake import HrIntake

COLUMNS = (
    "event_id",
    "type",
    "effective_at",
    "urgent",
    "employee_id",
    "given_name",
    "family_name",
    "email",
    "department",
    "title",
    "manager_employee_id",
    "employment_type",
)
_EVENT_FIELDS = {"event_id", "type", "effective_at", "urgent"}


@dataclass
class ImportReport:
    rows: int = 0
    applied: bool = False
    errors: list[RowError] = field(default_factory=list)
    results: list[dict[str, Any]] = field(default_factory=list)


def parse_rows(text: str) -> tuple[list[tuple[int, HrEvent]], list[RowError]]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    wrong = header_error(header, COLUMNS, ("type", "employee_id"))
    if wrong is not None:
        return [], [wrong]
    events, errors = [], []
    for row in reader:
        line = reader.line_num
        values = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
        try:
            events.append((line, _event(values)))
        except ValidationError as error:
            errors.append(RowError(line, validation_message(error)))
    return events, errors


def _event(values: dict[str, str]) -> HrEvent:
    employee = {k: v for k, v in values.items() if k not in _EVENT_FIELDS and v}
    event_id = (
        values.get("event_id")
        or "csv:"
        + hashlib.sha256(
            "\x1f".join(f"{k}={values.get(k, '')}" for k in COLUMNS).encode()
        ).hexdigest()[:32]
    )
    data: dict[str, Any] = {
        "event_id": event_id,
        "type": values.get("type", ""),
        "employee": employee,
    }
    if values.get("effective_at"):
        data["effective_at"] = values["effective_at"]
    if values.get("urgent"):
        data["urgent"] = values["urgent"].lower() in ("1", "true", "yes")
    return HrEvent.model_validate(data)


def import_csv(
    intake: HrIntake, text: str, *, actor: str, dry_run: bool
) -> ImportReport:
    events, errors = parse_rows(text)
    report = ImportReport(rows=len(events) + len(errors), errors=errors)
    if errors:
        return report
    with intake.uow_factory() as uow:
        for line, event in events:
            try:
                with uow.savepoint():
                    report.results.append(
                        intake.apply(uow, event, actor=actor, source="csv")
                    )
            except ServiceError as error:
                report.errors.append(RowError(line, error.message))
        if report.errors or dry_run:
            uow.rollback()
            return report
        uow.commit()
        report.applied = True
    return report
