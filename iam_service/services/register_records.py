"""The register as records: ``SystemRecord`` for the API and the CLI, and the
CSV export for the ISMS records (5.23, the クラウド一覧表).

The CSV is UTF-8 with a byte-order mark, so that Excel opens Japanese text
correctly, with CRLF line ends. One header row names each column in
Japanese with its English key in brackets (``利用目的 [purpose]``); the
columns never change order, and new ones are only ever appended. Enumerated
values read the same way (``社外秘 [internal]``). A cell Excel would run as
a formula (starting with ``= + - @``, tab or carriage return) is prefixed
with ``'``; ``read_csv`` removes it again, so an export reads back equal.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from iam_service.domain.model import Classification, TargetSystem
from iam_service.domain.register import (
    ApprovalState,
    CheckResult,
    Criterion,
    CriterionCheck,
    RegisterEntry,
)

CLASSIFICATION_JA: Mapping[Classification, str] = {
    Classification.PUBLIC: "公開",
    Classification.INTERNAL: "社外秘",
    Classification.STRICTLY_CONFIDENTIAL: "極秘",
}
STATE_JA: Mapping[str, str] = {
    ApprovalState.REQUESTED: "申請中",
    ApprovalState.APPROVED: "承認済み",
    ApprovalState.REJECTED: "却下",
    ApprovalState.SUSPENDED: "利用停止",
    "unregistered": "未登録",
}
CRITERION_JA: Mapping[Criterion, str] = {
    Criterion.DATA_LOCATION: "データ保存場所",
    Criterion.ENCRYPTION_IN_TRANSIT: "通信の暗号化",
    Criterion.SSO_SCIM: "SSO・SCIM対応",
    Criterion.CONTRACT_REVIEWED: "契約・利用規約の確認",
}
RESULT_JA: Mapping[CheckResult, str] = {
    CheckResult.UNCHECKED: "未確認",
    CheckResult.MET: "適合",
    CheckResult.NOT_MET: "不適合",
    CheckResult.NOT_APPLICABLE: "対象外",
}


@dataclass(frozen=True)
class SystemRecord:
    """One line of the register: the system and its entry, detached."""

    key: str
    name: str
    kind: str
    classification: Classification
    purpose: str
    owner: str
    owner_employee_id: str | None
    information: str
    vendor_url: str
    checks: Mapping[Criterion, CriterionCheck]
    state: str  # an ApprovalState, or "unregistered" before the first sync
    source: str
    requested_by: str | None
    requested_at: datetime | None
    assessed_by: str | None
    decided_by: str | None
    decided_at: datetime | None
    decision_comment: str

    @classmethod
    def of(cls, system: TargetSystem, entry: RegisterEntry | None) -> SystemRecord:
        return cls(
            key=system.key,
            name=system.name,
            kind=system.kind,
            classification=system.classification,
            purpose=system.purpose,
            owner=system.owner,
            owner_employee_id=entry.owner_employee_id if entry else None,
            information=entry.information if entry else "",
            vendor_url=entry.vendor_url if entry else "",
            checks=entry.checks if entry else {},
            state=str(entry.state) if entry else "unregistered",
            source=str(entry.source) if entry else "",
            requested_by=entry.requested_by if entry else None,
            requested_at=entry.requested_at if entry else None,
            assessed_by=entry.assessed_by if entry else None,
            decided_by=entry.decided_by if entry else None,
            decided_at=entry.decided_at if entry else None,
            decision_comment=entry.decision_comment if entry else "",
        )

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of ``GET /api/v1/systems``."""
        return {
            "key": self.key,
            "name": self.name,
            "kind": self.kind,
            "classification": str(self.classification),
            "purpose": self.purpose,
            "owner": self.owner,
            "owner_employee_id": self.owner_employee_id,
            "information": self.information,
            "vendor_url": self.vendor_url,
            "criteria": {
                str(c): check.model_dump(mode="json")
                for c, check in self.checks.items()
            },
            "state": self.state,
            "source": self.source,
            "requested_by": self.requested_by,
            "requested_at": _iso(self.requested_at),
            "assessed_by": self.assessed_by,
            "decided_by": self.decided_by,
            "decided_at": _iso(self.decided_at),
            "decision_comment": self.decision_comment,
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _labelled(japanese: str, code: str) -> str:
    return f"{japanese} [{code}]"


# (English key, Japanese header). Append only: ISMS records compare files.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("key", "システムキー"),
    ("name", "サービス名"),
    ("kind", "種別"),
    ("purpose", "利用目的"),
    ("information", "保存する情報の種類"),
    ("classification", "情報分類"),
    ("owner", "管理部門・担当"),
    ("owner_employee_id", "責任者社員番号"),
    ("vendor_url", "サービスURL"),
    *(
        (name, header)
        for c in Criterion
        for name, header in (
            (f"criterion.{c}", f"選定基準: {CRITERION_JA[c]}"),
            (f"criterion.{c}.note", f"選定基準備考: {CRITERION_JA[c]}"),
        )
    ),
    ("state", "承認状態"),
    ("requested_by", "申請者"),
    ("requested_at", "申請日時(UTC)"),
    ("decided_by", "承認・判断者"),
    ("decided_at", "判断日時(UTC)"),
    ("decision_comment", "判断コメント"),
    ("source", "登録元"),
)
HEADER = tuple(_labelled(ja, en) for en, ja in COLUMNS)
_LABELLED = frozenset(
    {"classification", "state", *(f"criterion.{c}" for c in Criterion)}
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CODE = re.compile(r" \[([^\[\]]+)\]$")


def _row(record: SystemRecord) -> dict[str, str]:
    values = {
        key: value or ""
        for key, value in record.as_dict().items()
        if isinstance(value, str | None)
    }
    values["classification"] = _labelled(
        CLASSIFICATION_JA[record.classification], str(record.classification)
    )
    values["state"] = _labelled(STATE_JA.get(record.state, ""), record.state)
    for criterion in Criterion:
        check = record.checks.get(criterion, CriterionCheck())
        values[f"criterion.{criterion}"] = _labelled(
            RESULT_JA[check.result], str(check.result)
        )
        values[f"criterion.{criterion}.note"] = check.note
    return values


def _guard(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def _unguard(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell[1:2] in _FORMULA_START else cell


def to_csv(records: Iterable[SystemRecord]) -> bytes:
    """The register as CSV bytes: UTF-8 with BOM, CRLF, stable columns."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    for record in records:
        row = _row(record)
        writer.writerow([_guard(row[key]) for key, _ in COLUMNS])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def read_csv(data: bytes) -> list[dict[str, str]]:
    """Read an export back: rows keyed by English column keys, labelled
    values reduced to their codes (``社外秘 [internal]`` -> ``internal``)."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    if not rows:
        return []
    keys = [_code(header) for header in rows[0]]
    return [
        {
            key: _code(cell) if key in _LABELLED else _unguard(cell)
            for key, cell in zip(keys, row, strict=True)
        }
        for row in rows[1:]
    ]


def _code(cell: str) -> str:
    match = _CODE.search(cell)
    return match.group(1) if match else cell
