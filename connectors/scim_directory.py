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


class ScimDirectory:
    """The resources of one SCIM service provider. Not thread-safe."""

    def __init__(self, http: ScimHttp) -> None:
        self.http = http
        self.settings = http.settings
        self.system = http.system
        self._capabilities: ScimCapabilities | None = None
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

    def require_manager(self, manager_id: str) -> None:
        try:
            self.get_user(manager_id)
        except NotFound:
            raise NotFound(
                f"manager {manager_id} does not exist", system=self.system
            ) from None

    def find_user_name(self, user_name: str) -> Resource | None:
        folded = user_name.casefold()
        return self.one(
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
        return self.one(found, f"employee {employee_id!r}")

    def create_user(self, body: Mapping[str, Any], secrets: tuple[str, ...]) -> str:
        """POST the user; its id (found by userName after a bodiless 201)."""
        endpoint = self.discover().users_endpoint
        reply = self.http.request("POST", endpoint, body=body, secrets=secrets)
        created = (reply.body or {}).get("id")
        found = self.find_user_name(str(body["userName"])) if not created else None
        if not created and found is None:
            raise RetryableError(
                f"created {body['userName']} but cannot find it", system=self.system
            )
        return str(created or (found or {})["id"])

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

    def one(self, found: list[Resource], what: str) -> Resource | None:
        if len(found) > 1:
            raise Conflict(f"{len(found)} resources match {what}", system=self.system)
        return found[0] if found else None
