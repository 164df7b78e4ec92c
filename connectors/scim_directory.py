"""Reading and writing SCIM resources: discovery, lookups, paging, group
membership and conditional writes. ``connectors.scim`` gives them the
connector contract's meaning.

Vendor deviations tolerated here: a PATCH answering 204 without a body or
200 with the resource (neither is relied on: the worker reads back), no
PATCH at all (PUT of the whole resource instead, also after a 501/405),
no ``totalResults``/``itemsPerPage``, no ``Resources`` when nothing matched,
a filter the provider ignores or applies without regard to case (results are
checked here), no filtering at all (lists are searched here), and a
provider that ignores ``startIndex`` (stopped, not looped).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import quote

from connectors.base import (
    Conflict,
    NotFound,
    NotSupported,
    PermanentError,
    RetryableError,
)
from connectors.scim_discovery import (
    ENTERPRISE_USER,
    ScimCapabilities,
    as_int,
    discover,
)
from connectors.scim_http import PreconditionFailed, ScimHttp, ScimRefused
from connectors.scim_mapping import employee_of, patch_body, replaced

Resource = dict[str, Any]


def literal(value: str) -> str:
    """A SCIM filter string literal (RFC 7644 §3.4.2.2 uses JSON strings)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def removal(user_id: str) -> dict[str, Any]:
    """The PATCH operation removing one member from a group."""
    return {"op": "remove", "path": f"members[value eq {literal(user_id)}]"}


def member_ids(group: Mapping[str, Any]) -> set[str]:
    return {
        str(m.get("value"))
        for m in group.get("members") or []
        if isinstance(m, Mapping) and m.get("value")
    }


class ScimDirectory:
    """The resources of one SCIM service provider. Not thread-safe."""

    def __init__(self, http: ScimHttp) -> None:
        self.http = http
        self.settings = http.settings
        self.system = http.system
        self._capabilities: ScimCapabilities | None = None
        self._group_ids: dict[str, tuple[str, str]] = {}  # folded name -> id, name
        self._patch_refused = False

    def discover(self) -> ScimCapabilities:
        if self._capabilities is None:
            self._capabilities = discover(self.http)
        return self._capabilities

    # -- users ---------------------------------------------------------------

    def user_path(self, user_id: str) -> str:
        return f"{self.discover().users_endpoint}/{quote(user_id, safe='')}"

    def get_user(self, user_id: str) -> tuple[Resource, str | None]:
        """The User and its version (ETag header, else meta.version)."""
        reply = self.http.request("GET", self.user_path(user_id))
        if not reply.body or not reply.body.get("id"):
            raise PermanentError(f"GET user {user_id}: no resource", system=self.system)
        meta = reply.body.get("meta") or {}
        return reply.body, reply.etag or meta.get("version")

    def find_user_name(self, user_name: str) -> Resource | None:
        folded = user_name.casefold()
        return self._one(
            self.search(
                self.discover().users_endpoint,
                f"userName eq {literal(user_name)}",
                lambda r: str(r.get("userName", "")).casefold() == folded,
            ),
            f"userName {user_name!r}",
        )

    def find_employee(self, employee_id: str) -> Resource | None:
        def same(resource: Resource) -> bool:
            return employee_id in (employee_of(resource), resource.get("externalId"))

        users = self.discover().users_endpoint
        found = self.search(users, f"externalId eq {literal(employee_id)}", same)
        if not found and self.discover().enterprise_user and self.discover().filter:
            expression = f"{ENTERPRISE_USER}:employeeNumber eq {literal(employee_id)}"
            try:
                found = self.search(users, expression, same)
            except ScimRefused:  # many providers cannot filter on extensions
                found = []
        return self._one(found, f"employee {employee_id!r}")

    def write_user(
        self,
        user_id: str,
        operations: list[dict[str, Any]],
        put_changes: Mapping[str, Any],
        *,
        unchanged: Callable[[Resource], bool] | None = None,
        secrets: tuple[str, ...] = (),
    ) -> None:
        """PATCH (or PUT) the user, with If-Match where ETags are offered.

        A 412 means someone changed the user since we read it: read again
        and retry once, then give up as retryable."""
        for _ in range(2):
            resource, version = self.get_user(user_id)
            if unchanged is not None and unchanged(resource):
                return
            if_match = version if self.discover().etag else None
            try:
                self._send(
                    user_id, resource, operations, put_changes, if_match, secrets
                )
            except PreconditionFailed:
                continue
            return
        raise RetryableError(
            f"user {user_id} changed on the provider while we wrote it, twice",
            system=self.system,
        )

    def delete_user(self, user_id: str) -> None:
        """DELETE with If-Match; gone (404) is success."""
        for _ in range(2):
            try:
                _, version = self.get_user(user_id)
                if_match = version if self.discover().etag else None
                self.http.request("DELETE", self.user_path(user_id), if_match=if_match)
            except NotFound:
                return
            except PreconditionFailed:
                continue
            return
        raise RetryableError(
            f"user {user_id} changed on the provider while we deleted it, twice",
            system=self.system,
        )

    # -- groups --------------------------------------------------------------

    def group_id(self, name: str) -> str:
        """The id of the group whose displayName is ``name`` (cached)."""
        folded = name.casefold()
        if folded not in self._group_ids:
            found = self._one(
                self.search(
                    self._groups_endpoint(),
                    f"displayName eq {literal(name)}",
                    lambda g: str(g.get("displayName", "")).casefold() == folded,
                    attributes="displayName",
                ),
                f"group {name!r}",
            )
            if found is None:
                raise NotFound(f"no group named {name!r}", system=self.system)
            self._group_ids[folded] = (str(found["id"]), str(found["displayName"]))
        return self._group_ids[folded][0]

    def patch_group_named(self, name: str, operation: dict[str, Any]) -> None:
        try:
            self.patch_group(self.group_id(name), operation)
        except NotFound:  # the group was deleted and maybe recreated: look again
            self._group_ids.pop(name.casefold(), None)
            self.patch_group(self.group_id(name), operation)

    def patch_group(self, group_id: str, operation: dict[str, Any]) -> None:
        # No If-Match: adding or removing one member commutes with what other
        # workers do to the same group; a version check would only make them
        # collide on the big birthright groups.
        path = f"{self._groups_endpoint()}/{quote(group_id, safe='')}"
        self.http.request("PATCH", path, body=patch_body([operation]))

    def memberships(self, user_id: str) -> dict[str, str]:
        """The groups listing ``user_id`` as a member: id -> displayName."""
        endpoint = self._groups_endpoint()
        if self.discover().filter:
            params = {
                "filter": f"members[value eq {literal(user_id)}]",
                "attributes": "displayName",
            }
            groups = self.pages(endpoint, params)
        else:
            every = self.pages(endpoint, {"attributes": "displayName,members"})
            groups = (g for g in every if user_id in member_ids(g))
        return {str(g["id"]): str(g.get("displayName", "")) for g in groups}

    def group_names_of(self, user: Mapping[str, Any]) -> set[str]:
        """The names of the user's groups. A provider that maintains the
        user's read-only ``groups`` saves a query; scim2-server does not."""
        if not self.discover().groups:
            return set()
        listed = [g for g in user.get("groups") or [] if isinstance(g, Mapping)]
        if listed and all(g.get("display") for g in listed):
            return {str(g["display"]) for g in listed}
        return set(self.memberships(str(user["id"])).values())

    def membership_index(self) -> dict[str, set[str]]:
        """user id -> group names, from one listing of every group."""
        index: dict[str, set[str]] = {}
        for group in self.pages(
            self._groups_endpoint(), {"attributes": "displayName,members"}
        ):
            for user_id in member_ids(group):
                index.setdefault(user_id, set()).add(str(group.get("displayName")))
        return index

    # -- lists ---------------------------------------------------------------

    def search(
        self,
        endpoint: str,
        expression: str,
        keep: Callable[[Resource], bool],
        *,
        attributes: str | None = None,
    ) -> list[Resource]:
        """Resources matching ``expression``, checked by ``keep`` here too."""
        params: dict[str, str | int] = {"attributes": attributes} if attributes else {}
        if self.discover().filter:
            params["filter"] = expression
        elif attributes:
            params.pop("attributes")  # ``keep`` needs the whole resource
        return [r for r in self.pages(endpoint, params) if keep(r)]

    def pages(
        self,
        endpoint: str,
        params: Mapping[str, str | int],
        page_size: int | None = None,
    ) -> Iterator[Resource]:
        """Every resource of a listing, by startIndex/count (RFC 7644 §3.4.2.4)."""
        size = self.discover().page_size(page_size or self.settings.page_size)
        start, seen = 1, set[str]()
        while True:
            query = {**params, "startIndex": start, "count": size}
            body = self.http.request("GET", endpoint, params=query).body or {}
            resources = [r for r in body.get("Resources") or [] if isinstance(r, dict)]
            fresh = [r for r in resources if str(r.get("id")) not in seen]
            if resources and not fresh:
                raise PermanentError(
                    f"GET {endpoint}: the provider ignores startIndex (the same "
                    "page again); cannot list past it",
                    system=self.system,
                )
            seen.update(str(r.get("id")) for r in fresh)
            yield from fresh
            start += len(resources)
            total = as_int(body.get("totalResults"))
            if not resources or (total is not None and start > total):
                return
            if total is None and len(resources) < size:
                return

    # -- helpers -------------------------------------------------------------

    def _send(
        self,
        user_id: str,
        resource: Resource,
        operations: list[dict[str, Any]],
        put_changes: Mapping[str, Any],
        if_match: str | None,
        secrets: tuple[str, ...],
    ) -> None:
        path = self.user_path(user_id)
        if self.discover().patch and not self._patch_refused:
            try:
                self.http.request(
                    "PATCH",
                    path,
                    body=patch_body(operations),
                    if_match=if_match,
                    secrets=secrets,
                )
                return
            except (NotSupported, ScimRefused) as error:
                if isinstance(error, ScimRefused) and error.status != 405:
                    raise
                self._patch_refused = True  # announced but not there: use PUT
        enterprise = self.discover().enterprise_user
        body = replaced(resource, put_changes, enterprise=enterprise)
        self.http.request("PUT", path, body=body, if_match=if_match, secrets=secrets)

    def _groups_endpoint(self) -> str:
        endpoint = self.discover().groups_endpoint
        if endpoint is None:
            raise NotSupported("this provider has no groups", system=self.system)
        return endpoint

    def _one(self, found: list[Resource], what: str) -> Resource | None:
        if len(found) > 1:
            raise Conflict(f"{len(found)} resources match {what}", system=self.system)
        return found[0] if found else None
