"""From a SCIM write to the one HR event it stands for.

The client's view before and after the write are two ``UserState``s; the
difference decides the event (``docs/decisions/0009-inbound-scim.md``):

* ``active`` true -> false: a termination (5.16, 5.18). HR attributes sent
  with it are kept in the event's payload but not applied: the leaver steps
  must not queue behind mover steps for the same account;
* ``active`` false -> true: a rehire carrying every HR attribute;
* a leaver whose HR attributes change without a rehire: refused
  (``mutability``), as the HR events API refuses an update of a leaver;
* otherwise an update with the HR attributes that changed (none: the event
  is recorded as ``no_change``).

Event ids are ``scim:<method>:<id>:<version before>:<body hash>``: the same
request against the same state is the same event, and a later identical
request against a changed User is a new one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from iam_service.domain.hr import Employee, HrEvent, HrEventType
from iam_service.domain.scim_user import UserState
from iam_service.services.errors import ConflictError, NotFoundError, ServiceError

_SCIM_NAMES = {
    "given_name": "name.givenName",
    "family_name": "name.familyName",
    "email": "emails",
    "department": "department",
    "title": "title",
    "manager_employee_id": "manager",
}


class ScimError(ServiceError):
    """A refused SCIM request, answered in the SCIM error format (RFC 7644
    §3.12). Nothing was written."""

    code = "scim"

    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        super().__init__(detail)
        self.status_code = status
        self.scim_type = scim_type


def as_scim_error(error: ServiceError) -> ScimError:
    """How a refusal of the HR intake reaches a SCIM client."""
    if isinstance(error, ScimError):
        return error
    if isinstance(error, NotFoundError):
        return ScimError(404, error.message)
    if isinstance(error, ConflictError):
        return ScimError(409, error.message, "uniqueness")
    return ScimError(error.status_code, error.message, "invalidValue")


def body_hash(body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def version_tag(version: str) -> str:
    """``W/"abc"`` -> ``abc``."""
    return version.removeprefix("W/").strip('"')


def etag_matches(header: str, version: str) -> bool:
    """An ``If-Match`` / ``If-None-Match`` value against a version; ``*``
    matches any. Comparison is weak, as RFC 7644 §3.14 uses weak ETags."""
    wanted = version_tag(version)
    for tag in header.split(","):
        tag = tag.strip()
        if tag == "*" or (tag and version_tag(tag) == wanted):
            return True
    return False


def event_id(method: str, user_id: str, version: str | None, digest: str) -> str:
    base = version_tag(version) if version else "new"
    return f"scim:{method}:{user_id}:{base}:{digest}"


def hire_event(desired: UserState, eid: str) -> HrEvent:
    return _event(eid, HrEventType.HIRE, desired.employee_number, _hr(desired))


def change_event(base: UserState, desired: UserState, eid: str) -> HrEvent:
    """The event for a write to an existing person; raises ``ScimError``."""
    if desired.employee_number != base.employee_number:
        raise ScimError(400, "employeeNumber is immutable", "mutability")
    if base.manager is not None and desired.manager is None:
        raise ScimError(
            400,
            "a manager cannot be removed through HR events; name the new manager",
            "mutability",
        )
    changes = {
        k: v for k, v in _hr(desired).items() if _hr(base).get(k) != v and v is not None
    }
    who = desired.employee_number
    if base.active and not desired.active:
        return _event(eid, HrEventType.TERMINATE, who, changes)
    if not base.active and desired.active:
        return _event(eid, HrEventType.REHIRE, who, _hr(desired))
    if not base.active:
        if changes:
            raise ScimError(
                400,
                f"{who} is a leaver: set active to true to rehire them, or send "
                f"{', '.join(sorted(_SCIM_NAMES[k] for k in changes))} unchanged",
                "mutability",
            )
        return _event(eid, HrEventType.TERMINATE, who, {})
    return _event(eid, HrEventType.UPDATE, who, changes)


def termination_event(user_id: str, eid: str) -> HrEvent:
    return _event(eid, HrEventType.TERMINATE, user_id, {})


def _hr(state: UserState) -> dict[str, str | None]:
    return state.hr_fields()


def _event(
    eid: str, kind: HrEventType, employee_id: str, fields: Mapping[str, str | None]
) -> HrEvent:
    try:
        employee = Employee.model_validate({"employee_id": employee_id, **fields})
        return HrEvent(event_id=eid, type=kind, employee=employee)
    except ValidationError as error:
        raise ScimError(400, str(error), "invalidValue") from None
