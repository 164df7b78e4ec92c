"""Entra group membership by group display name.

The policy names an Entra group by its display name; this module resolves it
to the group's object id once per connector and caches it. Adding a member
that is already there, or removing one that is not, is success.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from connectors.base import Conflict, NotFound, PermanentError
from connectors.entra_directory import BulkOutcome, bulk, path_id
from connectors.entra_users import literal
from connectors.graph_client import BatchRequest, BatchResponse, GraphClient
from connectors.graph_errors import already_exists, graph_error


class EntraGroups:
    """Membership changes for one connector; caches group ids."""

    def __init__(self, graph: GraphClient) -> None:
        self.graph = graph
        self._ids: dict[str, str] = {}  # casefolded display name -> object id

    def add(self, native_id: str, group: str) -> None:
        path = self._members(group, "add_to_group")
        try:
            self.graph.call(
                "POST",
                f"{path}/$ref",
                action="add_to_group",
                body=self.reference(native_id),
            )
        except NotFound:
            self._ids.pop(group.casefold(), None)  # the group itself may be gone
            raise
        except PermanentError as exc:
            if not already_exists(exc.message):
                raise

    def remove(self, native_id: str, group: str) -> None:
        path = self._members(group, "remove_from_group")
        try:
            self.graph.call(
                "DELETE",
                f"{path}/{path_id(native_id)}/$ref",
                action="remove_from_group",
            )
        except NotFound:
            return  # not a member (or no longer there): the goal holds

    def add_many(self, group: str, native_ids: Sequence[str]) -> BulkOutcome:
        path = self._members(group, "add_members")
        requests = [
            BatchRequest("POST", f"{path}/$ref", self.reference(i)) for i in native_ids
        ]
        return bulk(
            self.graph, native_ids, requests, "add_members", tolerate=_already_member
        )

    def reference(self, native_id: str) -> dict[str, Any]:
        base = self.graph.settings.graph_base
        return {"@odata.id": f"{base}/directoryObjects/{path_id(native_id)}"}

    def id_of(self, group: str, action: str) -> str:
        key = group.casefold()
        if key not in self._ids:
            page = self.graph.get(
                "/groups",
                action=f"{action}: find group",
                params={
                    "$filter": f"displayName eq {literal(group)}",
                    "$select": "id,displayName",
                },
            )
            found = page.get("value", [])
            system = self.graph.settings.system_id
            if not found:
                raise NotFound(f"{action}: no group named {group!r}", system=system)
            if len(found) > 1:
                raise Conflict(
                    f"{action}: {len(found)} groups are named {group!r}", system=system
                )
            self._ids[key] = str(found[0]["id"])
        return self._ids[key]

    def _members(self, group: str, action: str) -> str:
        return f"/groups/{path_id(self.id_of(group, action))}/members"


def _already_member(answer: BatchResponse) -> bool:
    return answer.status == 400 and already_exists(graph_error(answer.body)[1])
