"""The campaign CSV: one row per item, for Excel (UTF-8 with BOM, Japanese
headers with the English key in brackets), every row carrying the seal."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

CSV_COLUMNS = (
    ("item", "項目"),
    ("review", "レビュー"),
    ("reviewer", "レビュー担当者"),
    ("department", "部門"),
    ("employee_id", "社員番号"),
    ("person", "氏名"),
    ("entitlement", "権限"),
    ("entitlement_ref", "権限ID"),
    ("source", "付与元"),
    ("granted_at", "付与日時"),
    ("last_sign_in", "最終サインイン"),
    ("recommendations", "推奨"),
    ("decision", "判断"),
    ("comment", "コメント"),
    ("decided_by", "判断者"),
    ("decided_at", "判断日時"),
    ("escalated", "エスカレーション"),
    ("applied", "適用"),
    ("operation", "操作"),
    ("verified_at", "検証日時"),
    ("campaign", "キャンペーン"),
    ("audit_seq", "監査記録番号"),
    ("audit_hash", "監査記録ハッシュ"),
)


def csv_values(
    row: Mapping[str, Any], campaign_id: int, evidence: Mapping[str, Any]
) -> dict[str, Any]:
    verified = (
        row["operation_finished_at"]
        if str(row["operation_status"]) == "succeeded"
        else None
    )
    return {
        "item": row["id"],
        "review": row["review_id"],
        "reviewer": row["reviewer_employee_id"] or "security_officer",
        "department": row["department_code"],
        "employee_id": row["employee_id"],
        "person": row["person"],
        "entitlement": row["entitlement"]["name"],
        "entitlement_ref": row["entitlement_ref"],
        "source": row["grant_source"]
        + (f":{row['grant_source_ref']}" if row["grant_source_ref"] else ""),
        "granted_at": row["granted_at"],
        "last_sign_in": row["last_sign_in_at"]
        if row["sign_in_reported"]
        else "not reported",
        "recommendations": row["recommendations"].rstrip(","),
        "decision": row["decision"],
        "comment": row["comment"],
        "decided_by": row["decided_by"],
        "decided_at": row["decided_at"],
        "escalated": "yes" if row["escalated"] else "",
        "applied": row["apply_state"],
        "operation": f"{row['operation_id']} {row['operation_status']}"
        if row["operation_id"]
        else "",
        "verified_at": verified,
        "campaign": campaign_id,
        "audit_seq": evidence.get("audit_seq"),
        "audit_hash": evidence.get("audit_hash"),
    }


def cell(value: Any) -> str:
    if value is None:
        return ""
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    # A cell Excel would run as a formula is quoted (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
