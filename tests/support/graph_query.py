"""OData query handling for the Graph test server: ``$select``, ``$filter``
(``eq`` clauses joined by ``and``), ``$top`` paging with ``@odata.nextLink``,
``$expand`` of the manager, and delta links over the directory's change log.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from tests.support.graph_state import (
    DEFAULT_SELECT,
    USER_PROPERTIES,
    GraphDirectory,
    GraphError,
    bad_request,
)

READABLE = USER_PROPERTIES - {"passwordProfile"} | {
    "id",
    "assignedLicenses",
    "signInActivity",
    "createdDateTime",
    "businessPhones",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "lastPasswordChangeDateTime",
}
FILTERABLE = {
    "users": {"userPrincipalName", "employeeId", "mail", "displayName", "id"},
    "groups": {"displayName", "id"},
}
_CLAUSE = re.compile(r"\s*(\w+)\s+eq\s+'((?:[^']|'')*)'\s*")
_AND = re.compile(r"\s+and\s+(?=\w+\s+eq\s+')")


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def page(
    base_url: str, path: str, query: dict[str, str], items: list[dict[str, Any]]
) -> Reply:
    """One page of ``items``, with a nextLink that keeps the query."""
    top = int(query.get("$top", "100"))
    if not 1 <= top <= 999:
        raise bad_request(f"Invalid page size specified: '{top}'. Must be 1 to 999.")
    offset = int(query.get("$skiptoken", "0"))
    body: dict[str, Any] = {"value": items[offset : offset + top]}
    if offset + top < len(items):
        following = {**query, "$skiptoken": str(offset + top)}
        body["@odata.nextLink"] = f"{base_url}{path}?{urlencode(following)}"
    return Reply(200, body)


def select_user(
    directory: GraphDirectory, user: dict[str, Any], query: dict[str, str]
) -> dict[str, Any]:
    fields = [f for f in query.get("$select", "").split(",") if f]
    unknown = [f for f in fields if f not in READABLE]
    if unknown:
        raise bad_request(
            f"Could not find a property named '{unknown[0]}' on type "
            "'microsoft.graph.user'."
        )
    shown = {"id": user["id"], **{f: user.get(f) for f in fields or DEFAULT_SELECT}}
    expand = query.get("$expand", "")
    if expand.startswith("manager"):
        manager = directory.managers.get(user["id"])
        if manager is not None:
            shown["manager"] = {"@odata.type": "#microsoft.graph.user", "id": manager}
    elif expand:
        raise bad_request(f"Unsupported $expand '{expand}'.")
    return shown


def filtered(
    kind: str, objects: list[dict[str, Any]], query: dict[str, str]
) -> list[dict[str, Any]]:
    text = query.get("$filter")
    if not text:
        return objects
    clauses = []
    for part in _AND.split(text):
        match = _CLAUSE.fullmatch(part)
        if not match or match.group(1) not in FILTERABLE[kind]:
            raise bad_request(
                f"Unsupported or invalid query filter clause specified: '{part}'."
            )
        clauses.append((match.group(1), match.group(2).replace("''", "'")))
    return [
        o
        for o in objects
        if all(str(o.get(n) or "").casefold() == v.casefold() for n, v in clauses)
    ]


@dataclass(frozen=True)
class _DeltaState:
    since: int | None  # None: a full read
    upto: int
    offset: int
    select: str


class DeltaLinks:
    """``/users/delta``: a full read, then only what changed since a link."""

    def __init__(self, directory: GraphDirectory, base_url: str) -> None:
        self.directory = directory
        self.base_url = base_url
        self.page_size = 100
        self._states: dict[str, _DeltaState] = {}

    def read(self, query: dict[str, str]) -> Reply:
        d = self.directory
        token = query.get("$skiptoken") or query.get("$deltatoken")
        if token is None:
            state = _DeltaState(None, d.seq_now(), 0, query.get("$select", ""))
        else:
            found = self._states.get(token)
            if found is None or found.upto < d.delta_floor:
                raise GraphError(
                    410, "resyncRequired", "Resync required: the delta token expired."
                )
            state = found
            if "$deltatoken" in query:
                state = _DeltaState(found.upto, d.seq_now(), 0, found.select)
        if state.since is None:
            ids = list(d.users)
        else:
            ids = d.changed_since(state.since, state.upto)
        chunk = ids[state.offset : state.offset + self.page_size]
        body: dict[str, Any] = {"value": [self._item(i, state.select) for i in chunk]}
        token = secrets.token_urlsafe(12)
        if state.offset + len(chunk) < len(ids):
            offset = state.offset + len(chunk)
            self._states[token] = _DeltaState(
                state.since, state.upto, offset, state.select
            )
            body["@odata.nextLink"] = f"{self.base_url}/users/delta?$skiptoken={token}"
        else:
            self._states[token] = state
            body["@odata.deltaLink"] = (
                f"{self.base_url}/users/delta?$deltatoken={token}"
            )
        return Reply(200, body)

    def _item(self, user_id: str, select: str) -> dict[str, Any]:
        user = self.directory.users.get(user_id)
        if user is None:
            return {"id": user_id, "@removed": {"reason": "deleted"}}
        return select_user(self.directory, user, {"$select": select})
