"""Helpers for tests of the inbound SCIM endpoint: request bodies with dummy
data (8.33) and row counts to show that refused requests wrote nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from iam_service.adapters import orm
from iam_service.adapters.orm_scim import scim_users
from iam_service.bootstrap import Container

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SCIM_JSON = "application/scim+json"


def scim_user(
    employee_number: str,
    *,
    department: str = "SALES",
    title: str = "Staff",
    given: str = "Taro",
    family: str | None = None,
    user_name: str | None = None,
    email: str | None = None,
    manager: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A POST/PUT body for one User."""
    family = family or f"Test{employee_number}"
    enterprise: dict[str, Any] = {
        "employeeNumber": employee_number,
        "department": department,
    }
    if manager:
        enterprise["manager"] = {"value": manager}
    return {
        "schemas": [CORE, ENT],
        "userName": user_name or f"{employee_number.lower()}@corp.example.test",
        "name": {"givenName": given, "familyName": family},
        "emails": [
            {
                "value": email or f"{employee_number.lower()}@example.test",
                "type": "work",
                "primary": True,
            }
        ],
        "title": title,
        ENT: enterprise,
        **extra,
    }


def patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def counts(c: Container) -> dict[str, int]:
    """Rows in every table a SCIM write touches."""
    tables = {
        "persons": orm.persons,
        "hr_events": orm.hr_events,
        "operations": orm.operations_table,
        "audit_records": orm.audit_records,
        "grants": orm.grants,
        "scim_users": scim_users,
    }
    with c.session_factory() as session:
        return {
            name: int(session.scalar(select(func.count()).select_from(t)) or 0)
            for name, t in tables.items()
        }


def assert_scim_error(response: Any, status: int, scim_type: str | None) -> None:
    """The RFC 7644 §3.12 error format, with this status and scimType."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(SCIM_JSON)
    body = response.json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    assert body.get("scimType") == scim_type, body
    assert body["detail"]
