"""Entra reads and bulk writes beyond the one-account contract.

Directory role assignments (the privileged inventory, 8.2/8.18), delta
queries for reconciliation, group memberships of a page of users, and bulk
changes through ``$batch``. Each function takes the connector's
``GraphClient``; ``EntraConnector`` exposes them as methods.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from connectors.base import ConnectorError, RetryableError
from connectors.entra_users import (
    GRAPH_NAMES,
    USER_FIELDS,
    USER_TYPE,
    group_names,
    username_of,
)
from connectors.graph_client import BatchRequest, BatchResponse, GraphClient
from connectors.graph_errors import Gone, error_for_response


@dataclass(frozen=True)
class RoleAssignment:
    """One member of one activated directory role."""

    role_name: str
    role_template_id: str
    principal_id: str
    principal_upn: str | None  # None for groups and service principals
    principal_type: str = "user"


@dataclass(frozen=True)
class DeltaChange:
    """A user that changed since the last delta link, with the properties
    Graph sent (by our attribute names); ``removed`` when it was deleted."""

    native_id: str
    removed: bool
    username: str | None = None
    employee_id: str | None = None
    enabled: bool | None = None
    attributes: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class DeltaPage:
    """Every change up to now, and the link that reads the next ones.

    ``restarted``: the old link had expired, so ``changes`` is a full read
    of every user, not a difference.
    """

    changes: tuple[DeltaChange, ...]
    delta_link: str
    restarted: bool = False


@dataclass(frozen=True)
class BulkOutcome:
    """Per account (native id): done, or the error that stopped it."""

    done: tuple[str, ...]
    failed: Mapping[str, ConnectorError]


def path_id(native_id: str) -> str:
    return quote(native_id, safe="")


def collect(graph: GraphClient, first: Any, action: str) -> list[dict[str, Any]]:
    """The ``value`` of a page and of every page after it."""
    values: list[dict[str, Any]] = list((first or {}).get("value", []))
    next_link = (first or {}).get("@odata.nextLink")
    if next_link:
        for page in graph.pages(str(next_link), action=action):
            values += page.get("value", [])
    return values


def answers_or_raise(
    graph: GraphClient, answers: Sequence[BatchResponse], action: str
) -> Iterator[list[dict[str, Any]]]:
    """The full ``value`` list of each batch answer; the first failed one
    raises its error."""
    for answer in answers:
        if not answer.ok:
            raise batch_error(graph, answer, action)
        yield collect(graph, answer.body, action)


def group_memberships(graph: GraphClient, native_ids: Sequence[str]) -> list[set[str]]:
    """The group names of each user, read in ``$batch``es."""
    action = "iter_accounts: memberOf"
    requests = [
        BatchRequest("GET", f"/users/{path_id(i)}/memberOf?$select=id,displayName")
        for i in native_ids
    ]
    answers = graph.batch(requests, action=action, reads_only=True)
    return [group_names(v) for v in answers_or_raise(graph, answers, action)]


def role_assignments(graph: GraphClient) -> list[RoleAssignment]:
    """Who holds which activated directory role. Members are read per role
    (``$expand=members`` stops at 20), the first page of each in ``$batch``."""
    action = "list_role_assignments"
    roles = [
        role
        for page in graph.pages(
            "/directoryRoles",
            action=action,
            params={"$select": "id,displayName,roleTemplateId"},
        )
        for role in page.get("value", [])
    ]
    requests = [
        BatchRequest(
            "GET",
            f"/directoryRoles/{path_id(r['id'])}/members?$select=id,userPrincipalName",
        )
        for r in roles
    ]
    answers = graph.batch(requests, action=action, reads_only=True)
    found = []
    for role, members in zip(
        roles, answers_or_raise(graph, answers, action), strict=True
    ):
        for member in members:
            kind = str(member.get("@odata.type", "")).rsplit(".", 1)[-1] or "unknown"
            found.append(
                RoleAssignment(
                    role_name=str(role.get("displayName", "")),
                    role_template_id=str(role.get("roleTemplateId", "")),
                    principal_id=str(member["id"]),
                    principal_upn=member.get("userPrincipalName")
                    if member.get("@odata.type", USER_TYPE) == USER_TYPE
                    else None,
                    principal_type=kind,
                )
            )
    return found


def delta(graph: GraphClient, delta_link: str | None) -> DeltaPage:
    """Changes since ``delta_link`` (everything when None), following
    ``@odata.nextLink`` until Graph hands out the next ``@odata.deltaLink``."""
    if delta_link is not None:
        try:
            return _follow_delta(graph, delta_link, None, restarted=False)
        except Gone:
            pass  # the sync state expired: read everything again
    params = {"$select": ",".join(USER_FIELDS)}
    return _follow_delta(
        graph, "/users/delta", params, restarted=delta_link is not None
    )


def bulk(
    graph: GraphClient,
    native_ids: Sequence[str],
    requests: Sequence[BatchRequest],
    action: str,
    *,
    tolerate: Callable[[BatchResponse], bool] = lambda _: False,
) -> BulkOutcome:
    """Run one request per account in ``$batch``es; collect what failed."""
    answers = graph.batch(requests, action=action, reads_only=True)
    done: list[str] = []
    failed: dict[str, ConnectorError] = {}
    for native_id, answer in zip(native_ids, answers, strict=True):
        if answer.ok or tolerate(answer):
            done.append(native_id)
        else:
            failed[native_id] = batch_error(graph, answer, f"{action} {native_id}")
    return BulkOutcome(tuple(done), failed)


def disable_many(graph: GraphClient, native_ids: Sequence[str]) -> BulkOutcome:
    requests = [
        BatchRequest("PATCH", f"/users/{path_id(i)}", {"accountEnabled": False})
        for i in native_ids
    ]
    return bulk(graph, native_ids, requests, "disable_many")


def remove_licenses(graph: GraphClient, native_id: str) -> list[str]:
    """Remove every licence assigned to the user; the SKU ids removed."""
    path = f"/users/{path_id(native_id)}"
    user = graph.get(
        path, action="remove_licenses", params={"$select": "id,assignedLicenses"}
    )
    skus = sorted(
        str(lic["skuId"]) for lic in user.get("assignedLicenses") or [] if lic
    )
    if skus:
        graph.call(
            "POST",
            f"{path}/assignLicense",
            action="remove_licenses",
            body={"addLicenses": [], "removeLicenses": skus},
        )
    return skus


def _follow_delta(
    graph: GraphClient, url: str, params: dict[str, str] | None, *, restarted: bool
) -> DeltaPage:
    changes: list[DeltaChange] = []
    for page in graph.pages(url, action="delta", params=params):
        changes += [_change(item) for item in page.get("value", [])]
        link = page.get("@odata.deltaLink")
        if link:
            return DeltaPage(tuple(changes), str(link), restarted)
    raise RetryableError(
        "delta: the last page had no @odata.deltaLink", system=graph.settings.system_id
    )


def _change(item: Mapping[str, Any]) -> DeltaChange:
    upn = item.get("userPrincipalName")
    enabled = item.get("accountEnabled")
    return DeltaChange(
        native_id=str(item["id"]),
        removed="@removed" in item,
        username=username_of(str(upn)) if upn else None,
        employee_id=item.get("employeeId"),
        enabled=bool(enabled) if enabled is not None else None,
        attributes={
            ours: (item[theirs] or None)
            for ours, theirs in GRAPH_NAMES.items()
            if theirs in item
        },
    )


def batch_error(
    graph: GraphClient, answer: BatchResponse, action: str
) -> ConnectorError:
    """The connector error for a failed batch item."""
    return error_for_response(
        answer.status,
        answer.headers,
        answer.body,
        action=action,
        system=graph.settings.system_id,
    )
