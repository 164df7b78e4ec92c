"""How campaigns, reviews and items are shown (the API's shapes, which the
console pages render): every entitlement under its catalogue name, each
recommendation with its reason in the reader's language, each revoke with
the operation that applied it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from iam_service.domain.review_rules import reason
from iam_service.domain.reviews import Campaign, Progress, Recommendation, Review


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def campaign_head(c: Campaign | None) -> dict[str, Any]:
    if c is None:
        return {}
    return {
        "id": c.id,
        "name": c.name,
        "name_ja": c.name_ja,
        "status": str(c.status),
        "started_at": _iso(c.started_at),
        "due_at": _iso(c.due_at),
        "closes_at": _iso(c.closes_at),
        "apply_revocations": c.definition.get("apply_revocations"),
        "undecided": c.definition.get("undecided"),
    }


def campaign_view(c: Campaign, progress: Progress | None) -> dict[str, Any]:
    return campaign_head(c) | {
        "definition": c.definition_id,
        "started_by": c.started_by,
        "items_total": c.items_total,
        "inactive_days": c.inactive_days,
        "closed_at": _iso(c.closed_at),
        "closed_by": c.closed_by,
        "scope": c.definition.get("scope"),
        "evidence": {
            "items_digest": c.items_digest,
            "audit_seq": c.evidence_seq,
            "audit_hash": c.evidence_hash,
        },
        "progress": (progress or Progress()).as_dict(),
    }


def review_view(
    r: Review, progress: Progress | None, names: Mapping[str, str]
) -> dict[str, Any]:
    reviewer = r.reviewer_employee_id
    return {
        "id": r.id,
        "campaign_id": r.campaign_id,
        "department": r.department_code,
        "reviewer_kind": str(r.reviewer_kind),
        "reviewer_employee_id": reviewer,
        "reviewer_name": names.get(reviewer or "", "security officer"),
        "delegated_from": r.delegated_from,
        "note": r.note,
        "status": str(r.status),
        "signed_off_at": _iso(r.signed_off_at),
        "signed_off_by": r.signed_off_by,
        "progress": (progress or Progress()).as_dict(),
    }


def entitlement_view(
    ref: str, catalogue: Mapping[str, Any], language: str
) -> dict[str, Any]:
    entry = catalogue.get(ref) or {}
    system, key = ref.split(":", 1)
    name = entry.get("name_ja") if language == "ja" and entry.get("name_ja") else None
    return {
        "ref": ref,
        "system": system,
        "key": key,
        "name": name or entry.get("name") or key,
        "description": entry.get("description") or "",
        "privileged": bool(entry.get("privileged")),
        "classification": entry.get("classification"),
        "in_catalogue": bool(entry.get("in_catalogue")),
    }


def item_view(
    row: Mapping[str, Any],
    catalogue: Mapping[str, Any],
    requests: Mapping[str, dict[str, Any]],
    language: str,
    inactive_days: int,
) -> dict[str, Any]:
    codes = [c for c in str(row["recommendations"]).split(",") if c]
    request = requests.get(row["grant_source_ref"] or "")
    return {
        "id": row["id"],
        "employee_id": row["employee_id"],
        "person_name": f"{row['given_name']} {row['family_name']}",
        "title": row["title"],
        "department": row["department_code"],
        "entitlement": entitlement_view(row["entitlement_ref"], catalogue, language),
        "source": {
            "kind": row["grant_source"],
            "since": _iso(row["granted_at"]),
            "ref": row["grant_source_ref"],
            "request": _request_view(request),
            "in_birthright": bool(row["in_birthright"]),
        },
        "last_sign_in": {
            "reported": bool(row["sign_in_reported"]),
            "at": _iso(row["last_sign_in_at"]),
        },
        "sod": {
            "kind": row["sod"],
            "rules": [r for r in row["sod_rules"].split(",") if r],
        },
        "recommendations": [
            {
                "code": code,
                "key": f"reviews.recommendation.{code}",
                "text": reason(Recommendation(code), language, days=inactive_days),
            }
            for code in codes
        ],
        "decision": str(row["decision"]) if row["decision"] else None,
        "comment": row["comment"],
        "decided_by": row["decided_by"],
        "decided_at": _iso(row["decided_at"]),
        "escalated": bool(row["escalated"]),
        "outcome": _outcome(row),
    }


def _request_view(request: dict[str, Any] | None) -> dict[str, Any] | None:
    if request is None:
        return None
    return {
        **request,
        "requested_at": _iso(request["requested_at"]),
        "approvers": [{**a, "at": _iso(a["at"])} for a in request["approvers"]],
    }


def _outcome(row: Mapping[str, Any]) -> dict[str, Any] | None:
    state = row["apply_state"]
    if state is None:
        return None
    operation = None
    if row["operation_id"] is not None:
        status = row["operation_status"]
        operation = {
            "id": row["operation_id"],
            "status": str(status) if status else None,
            "verified_at": _iso(row["operation_finished_at"])
            if str(status) == "succeeded"
            else None,
            "error": row["operation_error"],
            "attempts": row["operation_attempts"],
        }
    return {
        "state": str(state),
        "applied_at": _iso(row["applied_at"]),
        "note": row["apply_note"],
        "operation": operation,
    }
