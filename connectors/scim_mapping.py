"""Between our account attributes and SCIM User resources (RFC 7643 §4).

Our name          SCIM attribute
given_name        name.givenName
family_name       name.familyName
display_name      displayName
email             emails (one, primary, type "work")
title             title
department        enterprise extension: department
manager_native_id enterprise extension: manager.value (the manager's SCIM id)
employee_id       externalId, and enterprise employeeNumber

Without the enterprise extension a provider cannot hold the department or
the manager; they are not sent and read back as None. Reading tolerates
vendors: string booleans, a manager given as a bare string, no primary
e-mail, no ``active`` (taken as enabled).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from typing import Any

from connectors.base import AccountRef, AccountSpec, AccountState, PolicyRefused
from connectors.scim_discovery import CORE_USER, ENTERPRISE_USER, PATCH_OP, as_bool

MIN_PASSWORD_LENGTH = 8  # 5.17 / 8.5: at least 8 characters on every system
MIN_CHARACTER_CLASSES = 3  # "several kinds": 3 of upper, lower, digit, symbol
_CLASSES = (r"[A-Z]", r"[a-z]", r"[0-9]", r"[^A-Za-z0-9]")
# Sent by the core path; the enterprise ones only where the extension exists.
CORE_PATHS = {
    "given_name": "name.givenName",
    "family_name": "name.familyName",
    "display_name": "displayName",
    "email": "emails",
    "title": "title",
}
ENTERPRISE_PATHS = {
    "department": f"{ENTERPRISE_USER}:department",
    "manager_native_id": f"{ENTERPRISE_USER}:manager",
}
# Read-only attributes a PUT must not send back (RFC 7643 §3.1, §4.1.2).
_READ_ONLY = ("meta", "groups")


def check_password_rules(password: str, *, system: str) -> None:
    """Refuse what 5.17 forbids before any SaaS sees it: a provider's own
    policy may be weaker than the regulation's, which applies to every system."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PolicyRefused(
            f"password refused: 5.17 needs at least {MIN_PASSWORD_LENGTH} characters",
            system=system,
        )
    if sum(bool(re.search(c, password)) for c in _CLASSES) < MIN_CHARACTER_CLASSES:
        raise PolicyRefused(
            "password refused: 5.17 needs several kinds of character "
            f"({MIN_CHARACTER_CLASSES} of upper case, lower case, digits, symbols)",
            system=system,
        )


def new_user(
    spec: AccountSpec,
    user_name: str,
    *,
    enterprise: bool,
    active: bool,
    password: str | None,
) -> dict[str, Any]:
    """The POST /Users body for ``spec``."""
    body: dict[str, Any] = {
        "schemas": [CORE_USER],
        "userName": user_name,
        "externalId": spec.employee_id,
        "name": {"givenName": spec.given_name, "familyName": spec.family_name},
        "displayName": spec.display_name,
        "emails": _emails(spec.email),
        "active": active,
    }
    if spec.title:
        body["title"] = spec.title
    if enterprise:
        extension: dict[str, Any] = {"employeeNumber": spec.employee_id}
        if spec.department:
            extension["department"] = spec.department
        if spec.manager_native_id:
            extension["manager"] = {"value": spec.manager_native_id}
        body["schemas"].append(ENTERPRISE_USER)
        body[ENTERPRISE_USER] = extension
    if password is not None:
        body["password"] = password
    return body


def patch_body(operations: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def attribute_operations(
    changes: Mapping[str, str | None], *, enterprise: bool
) -> list[dict[str, Any]]:
    """PATCH operations setting ``changes``: replace, or remove for None/""."""
    operations: list[dict[str, Any]] = []
    for name, value in changes.items():
        path = CORE_PATHS.get(name) or (ENTERPRISE_PATHS[name] if enterprise else None)
        if path is None:
            continue  # the provider cannot hold it (no enterprise extension)
        if not value:
            operations.append({"op": "remove", "path": path})
        else:
            operations.append(
                {"op": "replace", "path": path, "value": _value(name, value)}
            )
    return operations


def replaced(
    resource: Mapping[str, Any], changes: Mapping[str, Any], *, enterprise: bool
) -> dict[str, Any]:
    """The resource with ``changes`` applied, for PUT where PATCH is missing.

    ``changes`` may also hold ``active`` and ``password`` (sent as is)."""
    body = {k: copy.deepcopy(v) for k, v in resource.items() if k not in _READ_ONLY}
    for name, value in changes.items():
        if name in ("active", "password"):
            body[name] = value
            continue
        path = CORE_PATHS.get(name) or (ENTERPRISE_PATHS[name] if enterprise else None)
        if path is None:
            continue
        head, _, leaf = (
            path.rpartition(":") if path.startswith("urn:") else ("", "", path)
        )
        holder = body.setdefault(head, {}) if head else body
        if head and head not in body.get("schemas", []):
            body.setdefault("schemas", [CORE_USER]).append(head)
        parent, _, attribute = leaf.rpartition(".")
        if parent:
            holder = holder.setdefault(parent, {})
        if value:
            holder[attribute] = _value(name, str(value))
        else:
            holder.pop(attribute, None)
    return body


def read_state(
    resource: Mapping[str, Any], ref: AccountRef, groups: Iterable[str]
) -> AccountState:
    """An ``AccountState`` from a User resource and its group names."""
    name = _mapping(resource.get("name"))
    extension = _mapping(resource.get(ENTERPRISE_USER))
    return AccountState(
        ref=ref,
        employee_id=employee_of(resource),
        enabled=as_bool(resource.get("active", True)),
        attributes={
            "given_name": _text(name.get("givenName")),
            "family_name": _text(name.get("familyName")),
            "display_name": _text(resource.get("displayName")),
            "email": primary_email(resource.get("emails")),
            "department": _text(extension.get("department")),
            "title": _text(resource.get("title")),
            "manager_native_id": _manager(extension.get("manager")),
        },
        groups=frozenset(groups),
    )


def employee_of(resource: Mapping[str, Any]) -> str | None:
    extension = _mapping(resource.get(ENTERPRISE_USER))
    employee = extension.get("employeeNumber") or resource.get("externalId")
    return str(employee) if employee else None


def primary_email(emails: Any) -> str | None:
    entries = [e for e in emails or [] if isinstance(e, Mapping) and e.get("value")]
    for entry in entries:
        if as_bool(entry.get("primary", False)):
            return str(entry["value"])
    return str(entries[0]["value"]) if entries else None


def _emails(address: str) -> list[dict[str, Any]]:
    return [{"value": address, "type": "work", "primary": True}]


def _value(name: str, value: str) -> Any:
    if name == "email":
        return _emails(value)
    if name == "manager_native_id":
        return {"value": value}
    return value


def _manager(value: Any) -> str | None:
    if isinstance(value, Mapping):
        return _text(value.get("value"))
    return _text(value)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
