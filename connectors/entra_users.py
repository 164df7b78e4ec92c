"""Graph user objects <-> the connector's dataclasses, and OData details.

An Entra account's ``AccountRef.username`` is the part of its
userPrincipalName before the ``@``; the connector's ``domain`` setting
supplies the rest. Our attribute names map onto Graph properties here; the
manager is a relationship, read with ``$expand`` and written with ``$ref``.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from connectors.base import AccountRef, AccountSpec, AccountState, PolicyRefused
from connectors.entra_settings import EntraSettings

USER_FIELDS = (
    "id",
    "userPrincipalName",
    "displayName",
    "givenName",
    "surname",
    "mail",
    "department",
    "jobTitle",
    "employeeId",
    "accountEnabled",
)
# Our attribute names -> Graph's user properties (the manager is separate).
GRAPH_NAMES = {
    "given_name": "givenName",
    "family_name": "surname",
    "display_name": "displayName",
    "email": "mail",
    "department": "department",
    "title": "jobTitle",
}
GROUP_TYPE = "#microsoft.graph.group"
USER_TYPE = "#microsoft.graph.user"
MAX_EMPLOYEE_ID_LENGTH = 16  # Graph's limit on employeeId
# What a userPrincipalName's local part and a mailNickname both accept.
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._'-]{0,63}$")


def select(settings: EntraSettings) -> str:
    fields = USER_FIELDS + (
        ("signInActivity",) if settings.read_sign_in_activity else ()
    )
    return ",".join(fields)


def user_params(settings: EntraSettings) -> dict[str, str]:
    """Query parameters that read a user (or a list of them) completely."""
    return {"$select": select(settings), "$expand": "manager($select=id)"}


def literal(value: str) -> str:
    """An OData string literal: quotes doubled, never interpolated raw."""
    return "'" + value.replace("'", "''") + "'"


def principal_name(username: str, settings: EntraSettings) -> str:
    return f"{username}@{settings.domain}"


def username_of(upn: str) -> str:
    return upn.split("@", 1)[0]


def check_identifiers(username: str, employee_id: str, *, system: str) -> None:
    """Refuse a user name or employee id Entra cannot hold."""
    if not _USERNAME.match(username):
        raise PolicyRefused(
            f"user name {username!r} is not a valid userPrincipalName prefix "
            "(letters, digits, . _ - ' ; at most 64)",
            system=system,
        )
    if len(employee_id) > MAX_EMPLOYEE_ID_LENGTH:
        raise PolicyRefused(
            f"employee id {employee_id!r} is longer than the "
            f"{MAX_EMPLOYEE_ID_LENGTH} characters Entra's employeeId holds",
            system=system,
        )


def state_of(user: Mapping[str, Any], groups: Iterable[str] = ()) -> AccountState:
    """An ``AccountState`` from a Graph user (read with ``user_params``)."""
    manager = user.get("manager")
    attributes: dict[str, str | None] = {
        ours: _text(user.get(theirs)) for ours, theirs in GRAPH_NAMES.items()
    }
    attributes["manager_native_id"] = (
        _text(manager.get("id")) if isinstance(manager, Mapping) else None
    )
    activity = user.get("signInActivity")
    last = activity.get("lastSignInDateTime") if isinstance(activity, Mapping) else None
    return AccountState(
        ref=AccountRef(str(user["id"]), username_of(str(user["userPrincipalName"]))),
        employee_id=_text(user.get("employeeId")),
        enabled=bool(user.get("accountEnabled")),
        attributes=attributes,
        groups=frozenset(groups),
        last_sign_in=parse_time(last),
    )


def group_names(members_of: Iterable[Mapping[str, Any]]) -> set[str]:
    """The display names of the groups in a ``memberOf`` page."""
    return {
        str(o["displayName"])
        for o in members_of
        if o.get("@odata.type") == GROUP_TYPE and o.get("displayName")
    }


def new_user_body(
    spec: AccountSpec, password: str, *, enabled: bool, settings: EntraSettings
) -> dict[str, Any]:
    """The body of ``POST /users``; the password must change at first
    sign-in (5.17)."""
    body: dict[str, Any] = {
        "accountEnabled": enabled,
        "userPrincipalName": principal_name(spec.username, settings),
        "mailNickname": spec.username,
        "employeeId": spec.employee_id,
        "passwordProfile": {
            "password": password,
            "forceChangePasswordNextSignIn": True,
        },
    }
    for ours, value in spec.attributes().items():
        if ours in GRAPH_NAMES and value:
            body[GRAPH_NAMES[ours]] = value
    if settings.usage_location:
        body["usageLocation"] = settings.usage_location
    return body


def changes_body(changes: Mapping[str, str | None]) -> dict[str, Any]:
    """A PATCH body for attribute changes; None or "" clears the property."""
    return {
        GRAPH_NAMES[ours]: (value or None)
        for ours, value in changes.items()
        if ours in GRAPH_NAMES
    }


def unusable_password() -> str:
    """A random password nobody learns, for accounts created without one
    (Graph requires a passwordProfile); it meets any complexity rule."""
    alphabet = string.ascii_letters + string.digits + "-_.!#"
    core = "".join(secrets.choice(alphabet) for _ in range(40))
    return core + "Aa1!"


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _text(value: object) -> str | None:
    return None if value in (None, "") else str(value)
