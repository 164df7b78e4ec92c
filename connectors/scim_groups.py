"""SCIM groups: resolved by ``displayName``, membership changed with PATCH on
the group (RFC 7644 §3.5.2: ``add`` ``members``; ``remove`` with the path
``members[value eq "id"]``), and read back from the groups.

scim2-server (and some SaaS) never fill the User's read-only ``groups`` and
keep a deleted user listed as a member: memberships are therefore read from
the groups' side, and only for users that exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from connectors.base import NotFound, NotSupported
from connectors.scim_directory import ScimDirectory, literal
from connectors.scim_mapping import patch_body


def removal(user_id: str) -> dict[str, Any]:
    """The PATCH operation removing one member from a group."""
    return {"op": "remove", "path": f"members[value eq {literal(user_id)}]"}


def member_ids(group: Mapping[str, Any]) -> set[str]:
    return {
        str(m.get("value"))
        for m in group.get("members") or []
        if isinstance(m, Mapping) and m.get("value")
    }


class ScimGroups:
    """The groups of one provider. Not thread-safe (it caches group ids)."""

    def __init__(self, directory: ScimDirectory) -> None:
        self.directory = directory
        self.system = directory.system
        self._ids: dict[str, str] = {}  # folded displayName -> id

    def group_id(self, name: str) -> str:
        """The id of the group whose displayName is ``name`` (cached)."""
        folded = name.casefold()
        if folded not in self._ids:
            found = self.directory.one(
                self.directory.search(
                    self._endpoint(),
                    f"displayName eq {literal(name)}",
                    lambda g: str(g.get("displayName", "")).casefold() == folded,
                    attributes="displayName",
                ),
                f"group {name!r}",
            )
            if found is None:
                raise NotFound(f"no group named {name!r}", system=self.system)
            self._ids[folded] = str(found["id"])
        return self._ids[folded]

    def patch_named(self, name: str, operation: dict[str, Any]) -> None:
        try:
            self.patch(self.group_id(name), operation)
        except NotFound:  # the group was deleted and maybe recreated: look again
            self._ids.pop(name.casefold(), None)
            self.patch(self.group_id(name), operation)

    def patch(self, group_id: str, operation: dict[str, Any]) -> None:
        # No If-Match: adding or removing one member commutes with what other
        # workers do to the same group; a version check would only make them
        # collide on the big birthright groups.
        path = f"{self._endpoint()}/{quote(group_id, safe='')}"
        self.directory.http.request("PATCH", path, body=patch_body([operation]))

    def memberships(self, user_id: str) -> dict[str, str]:
        """The groups listing ``user_id`` as a member: id -> displayName."""
        endpoint, pages = self._endpoint(), self.directory.pages
        if self.directory.discover().filter:
            params = {
                "filter": f"members[value eq {literal(user_id)}]",
                "attributes": "displayName",
            }
            groups = pages(endpoint, params)
        else:
            every = pages(endpoint, {"attributes": "displayName,members"})
            groups = (g for g in every if user_id in member_ids(g))
        return {str(g["id"]): str(g.get("displayName", "")) for g in groups}

    def names_of(self, user: Mapping[str, Any]) -> set[str]:
        """The names of the user's groups. A provider that maintains the
        user's read-only ``groups`` saves a query; scim2-server does not."""
        if not self.directory.discover().groups:
            return set()
        listed = [g for g in user.get("groups") or [] if isinstance(g, Mapping)]
        if listed and all(g.get("display") for g in listed):
            return {str(g["display"]) for g in listed}
        return set(self.memberships(str(user["id"])).values())

    def membership_index(self) -> dict[str, set[str]]:
        """user id -> group names, from one listing of every group."""
        index: dict[str, set[str]] = {}
        listing = {"attributes": "displayName,members"}
        for group in self.directory.pages(self._endpoint(), listing):
            for user_id in member_ids(group):
                index.setdefault(user_id, set()).add(str(group.get("displayName")))
        return index

    def _endpoint(self) -> str:
        endpoint = self.directory.discover().groups_endpoint
        if endpoint is None:
            raise NotSupported("this provider has no groups", system=self.system)
        return endpoint
