"""The Graph v1.0 subset the Entra connector uses, over ``GraphDirectory``.

``GraphApi.handle`` takes a path relative to ``/v1.0`` and answers like
Graph: JSON bodies, ``{"error": {code, message}}``, ``$select``, ``$filter``
(``eq`` joined by ``and``), ``$top`` with ``@odata.nextLink``, ``$expand`` of
the manager, delta links, and ``$batch`` of at most 20 requests whose items
go through the same faults as single requests.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tests.support.graph_faults import Faults, Stats
from tests.support.graph_query import DeltaLinks, Reply, filtered, page, select_user
from tests.support.graph_state import GraphDirectory, GraphError, bad_request, not_found

MAX_BATCH = 20
Handler = Callable[["GraphApi", dict[str, str], Any, list[str]], Reply]


class GraphApi:
    def __init__(
        self, directory: GraphDirectory, base_url: str, faults: Faults, stats: Stats
    ) -> None:
        self.directory = directory
        self.base_url = base_url  # https://127.0.0.1:PORT/v1.0
        self.faults = faults
        self.stats = stats
        self.delta = DeltaLinks(directory, base_url)

    def handle(self, method: str, path: str, query: dict[str, str], body: Any) -> Reply:
        with self.stats.lock:
            self.stats.graph[(method, path)] += 1
        injected = self.faults.check(method, path)
        if injected is not None:
            error = {"error": {"code": injected.code, "message": injected.message}}
            return Reply(injected.status, error, dict(injected.headers))
        if (method, path) == ("POST", "/$batch"):
            return self._batch(body)
        for route_method, pattern, handler in ROUTES:
            match = pattern.fullmatch(path)
            if match and route_method == method:
                args = [unquote(g) for g in match.groups()]
                try:
                    with self.directory.lock:
                        return handler(self, query, body, args)
                except GraphError as exc:
                    return Reply(
                        exc.status,
                        {"error": {"code": exc.code, "message": exc.message}},
                    )
        return Reply(
            400,
            {
                "error": {
                    "code": "BadRequest",
                    "message": f"Resource not found for the segment '{path}'.",
                }
            },
        )

    # -- users ---------------------------------------------------------------

    def list_users(self, query: dict[str, str], _body: Any, _args: list[str]) -> Reply:
        users = filtered("users", list(self.directory.users.values()), query)
        return page(
            self.base_url,
            "/users",
            query,
            [select_user(self.directory, u, query) for u in users],
        )

    def create_user(self, _query: dict[str, str], body: Any, _args: list[str]) -> Reply:
        user = self.directory.create_user(dict(body or {}))
        return Reply(201, select_user(self.directory, user, {}))

    def get_user(self, query: dict[str, str], _body: Any, args: list[str]) -> Reply:
        return Reply(
            200, select_user(self.directory, self.directory.user(args[0]), query)
        )

    def patch_user(self, _query: dict[str, str], body: Any, args: list[str]) -> Reply:
        self.directory.update_user(args[0], dict(body or {}))
        return Reply(204)

    def delete_user(self, _query: dict[str, str], _body: Any, args: list[str]) -> Reply:
        self.directory.delete_user(args[0])
        return Reply(204)

    def get_manager(self, _query: dict[str, str], _body: Any, args: list[str]) -> Reply:
        manager = self.directory.managers.get(self.directory.user(args[0])["id"])
        if manager is None:
            raise not_found("manager")
        return Reply(
            200, select_user(self.directory, self.directory.users[manager], {})
        )

    def put_manager(self, _query: dict[str, str], body: Any, args: list[str]) -> Reply:
        self.directory.set_manager(args[0], _referenced(body))
        return Reply(204)

    def delete_manager(
        self, _query: dict[str, str], _body: Any, args: list[str]
    ) -> Reply:
        user_id = self.directory.user(args[0])["id"]
        if self.directory.managers.pop(user_id, None) is None:
            raise not_found("manager")
        self.directory.record_change(user_id)
        return Reply(204)

    def member_of(self, query: dict[str, str], _body: Any, args: list[str]) -> Reply:
        return page(
            self.base_url,
            f"/users/{args[0]}/memberOf",
            query,
            self.directory.member_of(args[0]),
        )

    def revoke(self, _query: dict[str, str], _body: Any, args: list[str]) -> Reply:
        self.directory.revocations.append(self.directory.user(args[0])["id"])
        return Reply(
            200,
            {"@odata.context": f"{self.base_url}/$metadata#Edm.Boolean", "value": True},
        )

    def assign_license(
        self, _query: dict[str, str], body: Any, args: list[str]
    ) -> Reply:
        body = body or {}
        self.directory.assign_licenses(
            args[0], body.get("addLicenses") or [], body.get("removeLicenses") or []
        )
        return Reply(200, select_user(self.directory, self.directory.user(args[0]), {}))

    def users_delta(self, query: dict[str, str], _body: Any, _args: list[str]) -> Reply:
        return self.delta.read(query)

    # -- groups and roles ------------------------------------------------------

    def list_groups(self, query: dict[str, str], _body: Any, _args: list[str]) -> Reply:
        groups = filtered("groups", list(self.directory.groups.values()), query)
        return page(self.base_url, "/groups", query, [dict(g) for g in groups])

    def group_members(
        self, query: dict[str, str], _body: Any, args: list[str]
    ) -> Reply:
        ids = self._group(args[0])
        return page(
            self.base_url,
            f"/groups/{args[0]}/members",
            query,
            self.directory.member_objects(ids),
        )

    def add_member(self, _query: dict[str, str], body: Any, args: list[str]) -> Reply:
        ids = self._group(args[0])
        member = _referenced(body)
        if member not in self.directory.users and member not in self.directory.groups:
            raise not_found(member)
        if member in ids:
            raise bad_request(
                "One or more added object references already exist for the "
                "following modified properties: 'members'."
            )
        ids.add(member)
        return Reply(204)

    def remove_member(
        self, _query: dict[str, str], _body: Any, args: list[str]
    ) -> Reply:
        ids = self._group(args[0])
        if args[1] not in ids:
            raise not_found(args[1])
        ids.discard(args[1])
        return Reply(204)

    def list_roles(self, query: dict[str, str], _body: Any, _args: list[str]) -> Reply:
        return page(
            self.base_url,
            "/directoryRoles",
            query,
            [dict(r) for r in self.directory.roles.values()],
        )

    def role_members(self, query: dict[str, str], _body: Any, args: list[str]) -> Reply:
        if args[0] not in self.directory.roles:
            raise not_found(args[0])
        members = self.directory.member_objects(self.directory.role_members[args[0]])
        return page(self.base_url, f"/directoryRoles/{args[0]}/members", query, members)

    def _group(self, group_id: str) -> set[str]:
        if group_id not in self.directory.groups:
            raise not_found(group_id)
        return self.directory.members[group_id]

    # -- $batch ----------------------------------------------------------------

    def _batch(self, body: Any) -> Reply:
        items = (body or {}).get("requests")
        if not isinstance(items, list) or not items:
            return Reply(
                400,
                {"error": {"code": "BadRequest", "message": "Invalid batch payload."}},
            )
        if len(items) > MAX_BATCH:
            return Reply(
                400,
                {
                    "error": {
                        "code": "BadRequest",
                        "message": "Number of requests in a batch cannot "
                        f"exceed {MAX_BATCH}.",
                    }
                },
            )
        with self.stats.lock:
            self.stats.batches.append(len(items))
        responses = []
        for item in items:
            url = urlsplit("/" + str(item["url"]).lstrip("/"))
            reply = self.handle(
                str(item["method"]).upper(),
                url.path,
                dict(parse_qsl(url.query)),
                item.get("body"),
            )
            responses.append(
                {
                    "id": item["id"],
                    "status": reply.status,
                    "headers": {"Content-Type": "application/json", **reply.headers},
                    "body": reply.body,
                }
            )
        return Reply(200, {"responses": responses})


def _referenced(body: Any) -> str:
    reference = str((body or {}).get("@odata.id", ""))
    if not reference:
        raise bad_request("Missing @odata.id.")
    return unquote(reference.rstrip("/").rsplit("/", 1)[-1])


def _route(
    method: str, pattern: str, handler: Handler
) -> tuple[str, re.Pattern[str], Handler]:
    return method, re.compile(pattern), handler


_ID = r"([^/]+)"
ROUTES = [
    _route("GET", r"/users", GraphApi.list_users),
    _route("POST", r"/users", GraphApi.create_user),
    _route("GET", r"/users/delta", GraphApi.users_delta),
    _route("GET", rf"/users/{_ID}", GraphApi.get_user),
    _route("PATCH", rf"/users/{_ID}", GraphApi.patch_user),
    _route("DELETE", rf"/users/{_ID}", GraphApi.delete_user),
    _route("GET", rf"/users/{_ID}/manager", GraphApi.get_manager),
    _route("PUT", rf"/users/{_ID}/manager/\$ref", GraphApi.put_manager),
    _route("DELETE", rf"/users/{_ID}/manager/\$ref", GraphApi.delete_manager),
    _route("GET", rf"/users/{_ID}/memberOf", GraphApi.member_of),
    _route("POST", rf"/users/{_ID}/revokeSignInSessions", GraphApi.revoke),
    _route("POST", rf"/users/{_ID}/assignLicense", GraphApi.assign_license),
    _route("GET", r"/groups", GraphApi.list_groups),
    _route("GET", rf"/groups/{_ID}/members", GraphApi.group_members),
    _route("POST", rf"/groups/{_ID}/members/\$ref", GraphApi.add_member),
    _route("DELETE", rf"/groups/{_ID}/members/{_ID}/\$ref", GraphApi.remove_member),
    _route("GET", r"/directoryRoles", GraphApi.list_roles),
    _route("GET", rf"/directoryRoles/{_ID}/members", GraphApi.role_members),
]
