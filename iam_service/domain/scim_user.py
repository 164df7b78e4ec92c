"""A person as a SCIM User: the state both sides share, and its rendering.

The User's ``id`` is the person's employee id (= ``employeeNumber``): HR's
key never changes and is never reused, so it is the stable id RFC 7643 §3.1
asks for, and ``manager.value`` (the manager's User id) is the manager's
employee number at the same time. ``meta.version`` is a weak ETag over the
rendered content, so it changes whenever anything the client can read
changes, through SCIM or through the HR events API (RFC 7644 §3.14).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from iam_service.domain.model import Person, PersonStatus
from iam_service.domain.scim_filter import FilterSyntaxError, parse_attr_path
from iam_service.domain.scim_schema import (
    CORE_USER,
    ENTERPRISE_USER,
    schema_for,
    top_attribute,
)


@dataclass(eq=False)
class ScimUserRecord:
    """What SCIM knows of a person beyond the HR record. Created by the first
    SCIM write; a person without one has ``userName`` = their e-mail."""

    person_id: int
    user_name: str
    user_name_key: str  # lower case: userName is unique in any case
    external_id: str | None = None
    email_type: str | None = None
    email_primary: bool | None = None
    deleted_at: datetime | None = None  # DELETE: hidden, the person stays
    last_request: str | None = None  # method and body hash of the last write
    last_version: str | None = None  # the version that write produced
    created_at: datetime | None = None
    updated_at: datetime | None = None
    id: int | None = None

    def rename(self, user_name: str) -> None:
        self.user_name, self.user_name_key = user_name, user_name.lower()


@dataclass(frozen=True)
class UserState:
    """The writable content of a User; None means unassigned."""

    employee_number: str
    user_name: str
    given_name: str | None = None
    family_name: str | None = None
    email: str | None = None
    email_type: str | None = None
    email_primary: bool = True
    title: str | None = None
    department: str | None = None
    manager: str | None = None
    external_id: str | None = None
    active: bool = True

    def hr_fields(self) -> dict[str, str | None]:
        """The fields HR owns, named as ``Employee`` names them."""
        return {
            "given_name": self.given_name,
            "family_name": self.family_name,
            "email": self.email,
            "department": self.department,
            "title": self.title,
            "manager_employee_id": self.manager,
        }


def state_of(person: Person, record: ScimUserRecord | None) -> UserState:
    return UserState(
        employee_number=person.employee_id,
        user_name=record.user_name if record else person.email,
        given_name=person.given_name or None,
        family_name=person.family_name or None,
        email=person.email or None,
        email_type=record.email_type if record else None,
        email_primary=record.email_primary is not False if record else True,
        title=person.title or None,
        department=person.department_code or None,
        manager=person.manager_employee_id,
        external_id=record.external_id if record else None,
        # A hire waiting for its start day is active: HR has taken them on.
        active=person.status is not PersonStatus.TERMINATED,
    )


def document_of(state: UserState) -> dict[str, Any]:
    """The writable attributes in canonical form (what PATCH operates on)."""
    doc: dict[str, Any] = {"userName": state.user_name}
    if state.external_id is not None:
        doc["externalId"] = state.external_id
    name = {"givenName": state.given_name, "familyName": state.family_name}
    if any(name.values()):
        doc["name"] = {k: v for k, v in name.items() if v is not None}
    if state.title is not None:
        doc["title"] = state.title
    if state.email is not None:
        email: dict[str, Any] = {"value": state.email}
        if state.email_type:
            email["type"] = state.email_type
        doc["emails"] = [email | {"primary": state.email_primary}]
    doc["active"] = state.active
    ext: dict[str, Any] = {"employeeNumber": state.employee_number}
    if state.department is not None:
        ext["department"] = state.department
    if state.manager is not None:
        ext["manager"] = {"value": state.manager}
    doc[ENTERPRISE_USER] = ext
    return doc


def render(
    person: Person,
    record: ScimUserRecord | None,
    groups: list[tuple[str, str]],
    base_url: str,
) -> dict[str, Any]:
    """The full User resource; ``groups`` are (entitlement ref, name) pairs."""
    state = state_of(person, record)
    doc = document_of(state)
    content: dict[str, Any] = {
        "schemas": [CORE_USER, ENTERPRISE_USER],
        "id": person.employee_id,
        **{k: v for k, v in doc.items() if k != ENTERPRISE_USER},
        "displayName": person.display_name,
    }
    if groups:
        content["groups"] = [
            {"value": ref, "display": name, "type": "direct"} for ref, name in groups
        ]
    content[ENTERPRISE_USER] = doc[ENTERPRISE_USER]
    stamps = [person.updated_at, record.updated_at if record else None]
    changed = max((t for t in stamps if t is not None), default=person.created_at)
    content["meta"] = {
        "resourceType": "User",
        "created": _time(person.created_at),
        "lastModified": _time(changed),
    }
    version = version_of(content)
    content["meta"] |= {"location": f"{base_url}/Users/{person.employee_id}"}
    content["meta"]["version"] = version
    manager = content[ENTERPRISE_USER].get("manager")
    if manager:
        manager["$ref"] = f"{base_url}/Users/{manager['value']}"
    return content


def version_of(content: dict[str, Any]) -> str:
    """A weak ETag over the content (no URLs, so every base URL agrees)."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return f'W/"{hashlib.sha256(canonical.encode()).hexdigest()[:20]}"'


def _time(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def project(
    resource: dict[str, Any],
    attributes: list[str] | None = None,
    excluded: list[str] | None = None,
) -> dict[str, Any]:
    """Apply ``attributes`` / ``excludedAttributes`` (RFC 7644 §3.4.2.5).
    ``schemas`` and ``id`` are always returned; names the schema does not know
    select nothing."""
    if attributes:
        out: dict[str, Any] = {k: resource[k] for k in ("schemas", "id")}
        for name in attributes:
            _copy(resource, out, name)
        return out
    out = json.loads(json.dumps(resource))
    for name in excluded or []:
        _drop(out, name)
    return out


def _locate(name: str) -> tuple[str | None, str | None, str | None] | None:
    """(container key or None for top level, attribute, sub-attribute); a
    schema URN alone names its whole container (attribute None)."""
    whole = schema_for(name.strip())
    if whole is not None and whole.id != CORE_USER:
        return whole.id, None, None
    try:
        path = parse_attr_path(name.strip())
    except FilterSyntaxError:
        return None
    found = top_attribute(path.schema, path.attr)
    if found is None:
        return None
    schema, attribute = found
    sub = attribute.sub(path.sub) if path.sub else None
    if path.sub and sub is None:
        return None
    container = None if schema == CORE_USER else schema
    return container, attribute.name, sub.name if sub else None


def _copy(source: dict[str, Any], out: dict[str, Any], name: str) -> None:
    located = _locate(name)
    if located is None:
        return
    container, attr, sub = located
    if attr is None:
        if container in source:
            out[container] = source[container]
        return
    src = source.get(container, {}) if container else source
    if attr not in src:
        return
    dst = out.setdefault(container, {}) if container else out
    value = src[attr]
    if sub is None:
        dst[attr] = value
    elif isinstance(value, list):
        merged = dst.get(attr) or [{} for _ in value]
        for have, item in zip(merged, value, strict=True):
            if sub in item:
                have[sub] = item[sub]
        dst[attr] = merged
    elif isinstance(value, dict) and sub in value:
        dst[attr] = {**dst.get(attr, {}), sub: value[sub]}


def _drop(out: dict[str, Any], name: str) -> None:
    located = _locate(name)
    if located is None or (located[0] is None and located[1] in ("id", "schemas")):
        return
    container, attr, sub = located
    if attr is None:
        out.pop(container or "", None)
        return
    dst = out.get(container, {}) if container else out
    if sub is None:
        dst.pop(attr, None)
    elif isinstance(dst.get(attr), list):
        for item in dst[attr]:
            item.pop(sub, None)
    elif isinstance(dst.get(attr), dict):
        dst[attr].pop(sub, None)
