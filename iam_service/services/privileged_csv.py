"""The privileged-account inventory as CSV, for the ISMS records (8.2).

Like the cloud-service register's export: UTF-8 with a byte-order mark (so
Excel shows Japanese), CRLF line ends, one header row naming each column in
Japanese with its English key in brackets, the columns always in this
order (new ones only ever appended), and cells Excel would run as a
formula prefixed with ``'``. Times are UTC (8.17). No secret is in it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

COLUMNS: tuple[tuple[str, str], ...] = (
    ("system", "システム"),
    ("username", "アカウント"),
    ("native_id", "固有ID"),
    ("source", "登録元"),
    ("rights", "特権"),
    ("enabled", "有効"),
    ("present", "現存"),
    ("owner_kind", "所有者の種別"),
    ("owner_employee_id", "所有者・責任者 社員番号"),
    ("owner_name", "所有者・責任者 氏名"),
    ("service", "サービス名"),
    ("custodians", "管理者（パスワードを知る者）"),
    ("approved", "承認"),
    ("approvals", "承認記録"),
    ("flags", "要対応"),
    ("last_rotated_at", "最終パスワード変更"),
    ("first_seen_at", "初回検出"),
    ("last_seen_at", "最終確認"),
)
FLAG_JA: Mapping[str, str] = {
    "no_approval": "承認なし",
    "no_owner": "所有者不明",
    "owner_left": "所有者退職",
    "custodian_left": "管理者退職",
    "possibly_stale": "不要の可能性",
    "rotation_due": "パスワード変更期限",
    "successor_needed": "後任者未指名",
}
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def to_csv(views: Iterable[Mapping[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([f"{ja} [{key}]" for key, ja in COLUMNS])
    for view in views:
        row = _row(view)
        writer.writerow([_guard(row[key]) for key, _ in COLUMNS])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _row(view: Mapping[str, Any]) -> dict[str, str]:
    owner = view["owner"]
    person = owner.get("person") or {}
    approvals = [a for a in view["approvals"] if a["in_force"]]
    return {
        "system": view["system"],
        "username": view["username"],
        "native_id": view["native_id"] or "",
        "source": view["source"],
        "rights": "; ".join(view["rights"]),
        "enabled": "yes" if view["enabled"] else "no",
        "present": "yes" if view["present"] else "no",
        "owner_kind": owner["kind"],
        "owner_employee_id": person.get("employee_id") or "",
        "owner_name": person.get("name") or "",
        "service": owner.get("service") or "",
        "custodians": "; ".join(
            f"{c['employee_id']} {c['name'] or ''}".strip() for c in view["custodians"]
        ),
        "approved": "yes" if approvals else "no",
        "approvals": "; ".join(_approval(a) for a in approvals),
        "flags": "; ".join(f"{FLAG_JA.get(f, f)} [{f}]" for f in view["flags"]),
        "last_rotated_at": view["last_rotated_at"] or "",
        "first_seen_at": view["first_seen_at"] or "",
        "last_seen_at": view["last_seen_at"] or "",
    }


def _approval(a: Mapping[str, Any]) -> str:
    who = a.get("approver") or a["source"]
    until = f" until {a['expires_at']}" if a.get("expires_at") else ""
    reason = f": {a['reason']}" if a.get("reason") else ""
    return f"{who} {a['approved_at']}{until}{reason}"


def _guard(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell
