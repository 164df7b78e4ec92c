"""Reading what a SCIM client sends: bodies into canonical documents, and
documents into a validated ``UserState``.

Unknown attributes are refused (``invalidSyntax``), not dropped: a typo in
an identity provider's attribute mapping must not silently lose data, the
same rule as the HR events API. Read-only attributes (``id``, ``meta``,
``displayName``, ``groups``) are ignored on input (RFC 7644 §3.5.1). The HR
fields are validated by ``Employee``, so SCIM and the HR events API accept
exactly the same values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from iam_service.domain.hr import Employee
from iam_service.domain.scim_schema import (
    CORE_USER,
    ENTERPRISE_SCHEMA,
    ENTERPRISE_USER,
    Attribute,
    top_attribute,
)
from iam_service.domain.scim_user import UserState, document_of

_SCIM_NAME = {  # Employee field -> the SCIM attribute it comes from
    "employee_id": "employeeNumber",
    "given_name": "name.givenName",
    "family_name": "name.familyName",
    "email": "emails.value",
    "department": "department",
    "title": "title",
    "manager_employee_id": "manager.value",
}
_LIMITS = {"userName": 256, "externalId": 256, "emails.type": 32}


class ScimInputError(ValueError):
    """Input the service refuses; ``scim_type`` is the RFC 7644 §3.12 code."""

    def __init__(self, scim_type: str | None, detail: str, status: int = 400) -> None:
        super().__init__(detail)
        self.scim_type = scim_type
        self.detail = detail
        self.status = status


def invalid(detail: str) -> ScimInputError:
    return ScimInputError("invalidValue", detail)


def normalize(attribute: Attribute, value: Any, where: str) -> Any:
    """A client's value for ``attribute`` in canonical form: sub-attribute
    names as the schema spells them, types checked."""
    if attribute.multi_valued and value is not None:
        items = value if isinstance(value, list) else [value]
        return [_single(attribute, item, where) for item in items]
    return _single(attribute, value, where)


def _single(attribute: Attribute, value: Any, where: str) -> Any:
    if value is None or attribute.type != "complex":
        return leaf(attribute, value, where)
    if isinstance(value, str) and attribute.sub("value") and not attribute.multi_valued:
        # Entra ID sends the manager as a bare id: read it as {"value": id}.
        value = {"value": value}
    if not isinstance(value, Mapping):
        raise invalid(f"{where} must be an object")
    out: dict[str, Any] = {}
    for key, item in value.items():
        sub = attribute.sub(str(key))
        if sub is None:
            raise ScimInputError("invalidSyntax", f"unknown attribute {where}.{key}")
        if not sub.read_only:
            out[sub.name] = leaf(sub, item, f"{where}.{sub.name}")
    return out


def leaf(attribute: Attribute, value: Any, where: str) -> Any:
    """A simple value, type-checked. Booleans also come as "True"/"False"
    strings from some identity providers; those are read as booleans."""
    if value is None:
        return None
    if attribute.type == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise invalid(f"{where} must be true or false")
    if not isinstance(value, str):
        raise invalid(f"{where} must be a string")
    return value


def parse_resource(body: Any) -> dict[str, Any]:
    """A POST or PUT body as a canonical document (``document_of`` shape)."""
    if not isinstance(body, Mapping):
        raise ScimInputError("invalidSyntax", "the body must be a JSON object")
    schemas = body.get("schemas")
    if not isinstance(schemas, list) or CORE_USER.lower() not in {
        str(s).lower() for s in schemas
    }:
        raise ScimInputError("invalidSyntax", f"schemas must include {CORE_USER}")
    doc: dict[str, Any] = {}
    for key, value in body.items():
        if key == "schemas":
            continue
        if key.lower() == ENTERPRISE_USER.lower():
            doc[ENTERPRISE_USER] = _extension(value)
            continue
        found = top_attribute(None, key)
        if found is None:
            raise ScimInputError("invalidSyntax", f"unknown attribute {key!r}")
        schema, attribute = found
        if schema != CORE_USER:
            raise ScimInputError(
                "invalidSyntax", f"{key} belongs in the {schema} object"
            )
        if not attribute.read_only:
            doc[attribute.name] = normalize(attribute, value, attribute.name)
    return doc


def _extension(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ScimInputError("invalidSyntax", f"{ENTERPRISE_USER} must be an object")
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key == "schemas":
            continue
        attribute = ENTERPRISE_SCHEMA.attribute(str(key))
        if attribute is None:
            raise ScimInputError(
                "invalidSyntax", f"unknown attribute {ENTERPRISE_USER}:{key}"
            )
        out[attribute.name] = normalize(attribute, item, attribute.name)
    return out


def choose_email(
    emails: list[dict[str, Any]], previous: str | None
) -> dict[str, Any] | None:
    """The one address the person keeps. What the client just asserted wins:
    a new primary address, else a new work address; otherwise the address
    kept so far stays; failing that, the primary, the work, the first one."""
    emails = [e for e in emails if e.get("value")]
    old = (previous or "").casefold()
    new = [e for e in emails if str(e["value"]).casefold() != old]
    kept = [e for e in emails if str(e["value"]).casefold() == old]
    asserted = _preferred(new)
    if asserted is not None:
        return asserted
    if kept:
        return kept[0]
    return _preferred(emails) or (emails[0] if emails else None)


def _preferred(emails: list[dict[str, Any]]) -> dict[str, Any] | None:
    primary = [e for e in emails if e.get("primary") is True]
    work = [e for e in emails if str(e.get("type") or "").lower() == "work"]
    found = primary or work
    return found[0] if found else None


def state_from_document(
    doc: Mapping[str, Any], previous_email: str | None = None
) -> UserState:
    """Validate a whole document; raises ``ScimInputError`` (invalidValue)."""
    ext = doc.get(ENTERPRISE_USER) or {}
    name = doc.get("name") or {}
    email = choose_email(list(doc.get("emails") or []), previous_email) or {}
    manager = ext.get("manager") or {}
    manager_id = manager.get("value") or (
        str(manager["$ref"]).rstrip("/").rsplit("/", 1)[-1]
        if manager.get("$ref")
        else None
    )
    employee = _employee(
        employee_id=_required(ext.get("employeeNumber"), "employeeNumber"),
        given_name=_required(name.get("givenName"), "name.givenName"),
        family_name=_required(name.get("familyName"), "name.familyName"),
        email=_required(email.get("value"), "emails"),
        department=_required(ext.get("department"), "department"),
        title=_required(doc.get("title"), "title"),
        manager_employee_id=manager_id,
    )
    if employee.manager_employee_id == employee.employee_id:
        raise invalid("manager.value: a person cannot be their own manager")
    state = UserState(
        employee_number=employee.employee_id,
        user_name=_required(doc.get("userName"), "userName").strip(),
        given_name=employee.given_name,
        family_name=employee.family_name,
        email=employee.email,
        email_type=email.get("type"),
        email_primary=email.get("primary") is not False,
        title=employee.title,
        department=employee.department,
        manager=employee.manager_employee_id,
        external_id=doc.get("externalId"),
        active=doc.get("active") is not False,
    )
    for where, value in (
        ("userName", state.user_name),
        ("externalId", state.external_id),
        ("emails.type", state.email_type),
    ):
        if value is not None and len(value) > _LIMITS[where]:
            raise invalid(f"{where} is longer than {_LIMITS[where]} characters")
    return state


_PUT_REQUIRED = ("userName", "name", "title", "emails")
_PUT_REQUIRED_EXT = ("employeeNumber", "department")


def replaced_state(base: UserState, body: Any) -> UserState:
    """The state a PUT asks for. Required attributes must be sent; optional
    ones left out are not asserted and keep their values (RFC 7644 §3.5.1
    allows either reading, and this one never clears data by omission)."""
    sent = parse_resource(body)
    ext = sent.get(ENTERPRISE_USER, {})
    missing = [k for k in _PUT_REQUIRED if k not in sent]
    missing += [k for k in _PUT_REQUIRED_EXT if k not in ext]
    if missing:
        raise invalid(f"a PUT sends the whole User; missing: {', '.join(missing)}")
    doc = document_of(base)
    doc.update({**sent, ENTERPRISE_USER: {**doc[ENTERPRISE_USER], **ext}})
    return state_from_document(doc, base.email)


def _required(value: Any, where: str) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise invalid(f"{where} is required")
    return str(value)


def _employee(**fields: str | None) -> Employee:
    try:
        return Employee.model_validate(fields)
    except ValidationError as error:
        problems = [
            f"{_SCIM_NAME.get(str(e['loc'][0]), e['loc'][0])}: {e['msg']}"
            for e in error.errors()
        ]
        raise invalid("; ".join(problems)) from None
