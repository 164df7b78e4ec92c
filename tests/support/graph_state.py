"""The in-memory directory behind the Graph test server.

Users, groups, memberships, managers, directory roles, licences, session
revocations and a change log for delta queries, with Graph's rules where our
connector relies on them: verified domains, unique userPrincipalName, a
password complexity policy like Entra's, 16-character employeeId. Tests
read and seed it directly (``server.directory``). No password is kept: only
whether it must change (5.17, even in a test server). Dummy data only (8.33).
"""

from __future__ import annotations

import itertools
import re
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

USER_PROPERTIES = frozenset(
    {
        "accountEnabled",
        "displayName",
        "givenName",
        "surname",
        "mail",
        "mailNickname",
        "userPrincipalName",
        "department",
        "jobTitle",
        "employeeId",
        "usageLocation",
        "passwordProfile",
    }
)
REQUIRED_ON_CREATE = (
    "accountEnabled",
    "displayName",
    "mailNickname",
    "userPrincipalName",
    "passwordProfile",
)
DEFAULT_SELECT = (
    "id",
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
)
PASSWORD_MESSAGE = (
    "The specified password does not comply with password complexity "
    "requirements. Please provide a different password."
)
_CLASSES = (r"[A-Z]", r"[a-z]", r"[0-9]", r"[^A-Za-z0-9]")


class GraphError(Exception):
    """An error Graph would answer with ``{"error": {code, message}}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def not_found(key: str) -> GraphError:
    return GraphError(
        404,
        "Request_ResourceNotFound",
        f"Resource '{key}' does not exist or one of its queried reference-property "
        "objects are not present.",
    )


def bad_request(message: str, code: str = "Request_BadRequest") -> GraphError:
    return GraphError(400, code, message)


def check_password(password: object) -> None:
    """Entra's default rule: 8 to 256 characters, 3 of 4 kinds."""
    text = password if isinstance(password, str) else ""
    kinds = sum(bool(re.search(c, text)) for c in _CLASSES)
    if not 8 <= len(text) <= 256 or kinds < 3:
        raise bad_request(PASSWORD_MESSAGE)


@dataclass
class GraphDirectory:
    """The tenant's objects. Every method is called under ``lock``."""

    domains: set[str] = field(default_factory=lambda: {"example.test"})
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    managers: dict[str, str] = field(default_factory=dict)  # user id -> manager id
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    members: dict[str, set[str]] = field(default_factory=dict)  # group id -> ids
    roles: dict[str, dict[str, Any]] = field(default_factory=dict)
    role_members: dict[str, set[str]] = field(default_factory=dict)
    revocations: list[str] = field(default_factory=list)  # user ids, in order
    changes: list[tuple[int, str]] = field(default_factory=list)  # delta log
    delta_floor: int = 0  # delta tokens below this have expired (410)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # -- inspection and seeding (tests) ------------------------------------

    def user_by_upn(self, upn: str) -> dict[str, Any] | None:
        with self.lock:
            return next(
                (
                    u
                    for u in self.users.values()
                    if u["userPrincipalName"].casefold() == upn.casefold()
                ),
                None,
            )

    def add_group(self, display_name: str) -> str:
        with self.lock:
            group_id = str(uuid.uuid4())
            self.groups[group_id] = {"id": group_id, "displayName": display_name}
            self.members[group_id] = set()
            return group_id

    def group_named(self, display_name: str) -> str:
        return next(
            g for g, v in self.groups.items() if v["displayName"] == display_name
        )

    def add_role(
        self, display_name: str, template_id: str, members: Iterable[str]
    ) -> str:
        with self.lock:
            role_id = str(uuid.uuid4())
            self.roles[role_id] = {
                "id": role_id,
                "displayName": display_name,
                "roleTemplateId": template_id,
            }
            self.role_members[role_id] = set(members)
            return role_id

    def group_names_of(self, user_id: str) -> set[str]:
        with self.lock:
            return {
                self.groups[g]["displayName"]
                for g, ids in self.members.items()
                if user_id in ids
            }

    def expire_delta_tokens(self) -> None:
        """Make every delta link handed out so far answer 410."""
        with self.lock:
            self.delta_floor = self.seq_now() + 1

    # -- users ---------------------------------------------------------------

    def user(self, key: str) -> dict[str, Any]:
        found = self.users.get(key) or self.user_by_upn(key)
        if found is None:
            raise not_found(key)
        return found

    def create_user(self, body: dict[str, Any]) -> dict[str, Any]:
        self._check_properties(body)
        missing = [p for p in REQUIRED_ON_CREATE if body.get(p) in (None, "")]
        if missing:
            raise bad_request(f"Property '{missing[0]}' is required")
        upn = str(body["userPrincipalName"])
        if upn.rsplit("@", 1)[-1].casefold() not in {
            d.casefold() for d in self.domains
        }:
            raise bad_request(
                "The domain portion of the userPrincipalName property is invalid. "
                "You must use one of the verified domain names in your organization."
            )
        if self.user_by_upn(upn) is not None:
            raise bad_request(
                "Another object with the same value for property "
                "userPrincipalName already exists."
            )
        profile = body["passwordProfile"]
        check_password(profile.get("password"))
        user_id = str(uuid.uuid4())
        user = {k: v for k, v in body.items() if k != "passwordProfile"}
        user.update(
            id=user_id,
            assignedLicenses=[],
            createdDateTime=_now(),
            passwordProfile={
                "forceChangePasswordNextSignIn": bool(
                    profile.get("forceChangePasswordNextSignIn", True)
                )
            },
        )
        self.users[user_id] = user
        self.record_change(user_id)
        return user

    def update_user(self, key: str, body: dict[str, Any]) -> None:
        user = self.user(key)
        self._check_properties(body)
        other = self.user_by_upn(str(body.get("userPrincipalName", "")))
        if other is not None and other["id"] != user["id"]:
            raise bad_request(
                "Another object with the same value for property "
                "userPrincipalName already exists."
            )
        if "passwordProfile" in body:
            profile = body.pop("passwordProfile")
            check_password(profile.get("password"))
            user["passwordProfile"] = {
                "forceChangePasswordNextSignIn": bool(
                    profile.get("forceChangePasswordNextSignIn", False)
                )
            }
            user["lastPasswordChangeDateTime"] = _now()
        user.update(body)
        self.record_change(user["id"])

    def delete_user(self, key: str) -> None:
        user_id = self.user(key)["id"]
        del self.users[user_id]
        for ids in (*self.members.values(), *self.role_members.values()):
            ids.discard(user_id)
        self.managers.pop(user_id, None)
        for report in [u for u, m in self.managers.items() if m == user_id]:
            del self.managers[report]
        self.record_change(user_id)

    def set_manager(self, key: str, manager_key: str) -> None:
        user_id, manager_id = self.user(key)["id"], self.user(manager_key)["id"]
        if user_id == manager_id:
            raise bad_request("A user cannot be their own manager.")
        self.managers[user_id] = manager_id
        self.record_change(user_id)

    def assign_licenses(
        self, key: str, add: list[dict[str, Any]], remove: list[str]
    ) -> None:
        user = self.user(key)
        if add and not user.get("usageLocation"):
            raise bad_request(
                "License assignment failed because service plans require a usage "
                "location.",
                "Request_BadRequest",
            )
        kept = [lic for lic in user["assignedLicenses"] if lic["skuId"] not in remove]
        user["assignedLicenses"] = kept + [
            {"skuId": a["skuId"], "disabledPlans": []} for a in add
        ]
        self.record_change(user["id"])

    def member_objects(self, ids: Iterable[str]) -> list[dict[str, Any]]:
        found = []
        for object_id in sorted(ids):
            if object_id in self.users:
                u = self.users[object_id]
                found.append(
                    {
                        "@odata.type": "#microsoft.graph.user",
                        "id": object_id,
                        "displayName": u.get("displayName"),
                        "userPrincipalName": u["userPrincipalName"],
                    }
                )
            elif object_id in self.groups:
                found.append(
                    {"@odata.type": "#microsoft.graph.group", **self.groups[object_id]}
                )
        return found

    def member_of(self, key: str) -> list[dict[str, Any]]:
        user_id = self.user(key)["id"]
        found = [
            {"@odata.type": "#microsoft.graph.group", **self.groups[g]}
            for g, ids in self.members.items()
            if user_id in ids
        ]
        found += [
            {"@odata.type": "#microsoft.graph.directoryRole", **self.roles[r]}
            for r, ids in self.role_members.items()
            if user_id in ids
        ]
        return sorted(found, key=lambda o: str(o["id"]))

    # -- delta ---------------------------------------------------------------

    def seq_now(self) -> int:
        return self.changes[-1][0] if self.changes else 0

    def changed_since(self, since: int, upto: int) -> list[str]:
        seen: dict[str, None] = {}
        for seq, user_id in self.changes:
            if since < seq <= upto:
                seen.pop(user_id, None)
                seen[user_id] = None  # ordered by the last change
        return list(seen)

    def record_change(self, user_id: str) -> None:
        self.changes.append((next(self._seq), user_id))

    @staticmethod
    def _check_properties(body: dict[str, Any]) -> None:
        unknown = sorted(set(body) - USER_PROPERTIES)
        if unknown:
            raise bad_request(
                f"Property '{unknown[0]}' does not exist on type "
                "'microsoft.graph.user'."
            )
        if len(str(body.get("employeeId") or "")) > 16:
            raise bad_request("The employeeId property cannot exceed 16 characters.")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
