"""Microsoft Entra ID accounts over Microsoft Graph v1.0.

Accounts are addressed by their object id; the user name is the part of the
userPrincipalName before ``@<domain>``. Tokens come from msal (client secret
or certificate) and are reused from its cache. Writes are idempotent: an
existing user with the same UPN *and* employeeId is adopted, "already a
member" and "already gone" are success. Throttling (429/503) is raised as
``Throttled`` with Graph's ``Retry-After`` so the queue waits, not the
worker. Besides the ``Connector`` contract this offers licence removal,
directory role assignments, delta reads and bulk ``$batch`` helpers; see
``docs/decisions/0010-entra-connector.md``. Not thread-safe: one per worker
thread (they may share one msal token cache).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

import requests

from connectors import entra_directory as directory
from connectors import entra_users as users
from connectors.base import (
    ATTRIBUTE_NAMES,
    AccountRef,
    AccountSpec,
    AccountState,
    Capability,
    Conflict,
    NotFound,
    NotSupported,
    PermanentError,
    PrivilegedHolding,
    Secret,
)
from connectors.entra_directory import BulkOutcome, DeltaPage, RoleAssignment, path_id
from connectors.entra_groups import EntraGroups
from connectors.entra_settings import (
    ENTRA_CAPABILITIES,
    EntraCertificate,
    EntraSettings,
    capabilities_for,
)
from connectors.graph_client import BatchRequest, BatchResponse, GraphClient
from connectors.graph_errors import already_exists

__all__ = [
    "ENTRA_CAPABILITIES",
    "EntraCertificate",
    "EntraConnector",
    "EntraSettings",
    "capabilities_for",
]

_GRACE = 30.0  # seconds after our create in which a NotFound may be replication


class EntraConnector:
    """The ``Connector`` for Microsoft Entra ID. Not thread-safe."""

    def __init__(
        self,
        settings: EntraSettings,
        session: requests.Session,
        *,
        token_cache: Any = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.system_id = settings.system_id
        self.capabilities: frozenset[Capability] = capabilities_for(settings)
        self.settings = settings
        self.graph = GraphClient(
            settings, session, token_cache=token_cache, sleep=sleep
        )
        self.groups = EntraGroups(self.graph)
        self._sleep = sleep
        self._created: dict[str, float] = {}  # native id -> when we created it

    def create_account(self, spec: AccountSpec, password: Secret | None) -> AccountRef:
        users.check_identifiers(spec.username, spec.employee_id, system=self.system_id)
        if spec.manager_native_id:
            self._user("create_account: manager", spec.manager_native_id, "id")
        existing = self._find_one(self._upn_filter(spec.username), "create_account")
        if existing is None:
            existing = self._post_user(spec, password)
        if existing.get("employeeId") != spec.employee_id:
            raise Conflict(
                f"create_account: user name {spec.username!r} already belongs to "
                "another employee (employeeId differs)",
                system=self.system_id,
            )
        ref = AccountRef(str(existing["id"]), spec.username)
        if spec.manager_native_id:
            self._set_manager(ref, spec.manager_native_id, "create_account")
        return ref

    def find_account(
        self, *, username: str | None = None, employee_id: str | None = None
    ) -> AccountState | None:
        clauses = [self._upn_filter(username)] if username is not None else []
        if employee_id is not None:
            clauses.append(f"employeeId eq {users.literal(employee_id)}")
        if not clauses:
            raise ValueError("find_account needs a username or an employee_id")
        found = self._find_one(" and ".join(clauses), "find_account")
        return None if found is None else self._state(found)

    def get_account(self, ref: AccountRef) -> AccountState:
        # Entra replicates a new user within seconds; the read-back right
        # after our own create may miss it, so such a read waits a little.
        fresh = time.monotonic() - self._created.get(ref.native_id, -_GRACE) < _GRACE
        for pause in (0.5, 1.0, None) if fresh else (None,):
            try:
                return self._read(ref)
            except NotFound:
                if pause is None:
                    raise
                self._sleep(pause)
        raise AssertionError("unreachable")  # pragma: no cover

    def update_account(
        self, ref: AccountRef, changes: Mapping[str, str | None]
    ) -> None:
        unknown = set(changes) - ATTRIBUTE_NAMES
        if unknown:
            raise ValueError(f"unknown attributes: {sorted(unknown)}")
        body = users.changes_body(changes)
        if body:
            self._patch(ref, body, "update_account")
        if "manager_native_id" in changes:
            manager = changes["manager_native_id"]
            if manager:
                self._set_manager(ref, manager, "update_account")
            else:
                self._clear_manager(ref)

    def set_enabled(self, ref: AccountRef, enabled: bool) -> None:
        self._patch(ref, {"accountEnabled": enabled}, "set_enabled")

    def set_password(
        self, ref: AccountRef, password: Secret, *, must_change: bool
    ) -> None:
        # 5.17: the caller decides whether the password must change.
        profile = {
            "password": password.reveal(),
            "forceChangePasswordNextSignIn": must_change,
        }
        self._patch(ref, {"passwordProfile": profile}, "set_password")

    def add_to_group(self, ref: AccountRef, group: str) -> None:
        self.groups.add(ref.native_id, group)

    def remove_from_group(self, ref: AccountRef, group: str) -> None:
        self.groups.remove(ref.native_id, group)

    def revoke_sessions(self, ref: AccountRef) -> None:
        # 5.18: sign-in sessions and refresh tokens end now, not at expiry.
        self.graph.call(
            "POST", f"{self._path(ref)}/revokeSignInSessions", action="revoke_sessions"
        )

    def move_to_leavers(self, ref: AccountRef) -> None:  # noqa: ARG002 - Protocol
        raise NotSupported(
            "Entra ID has no leavers' container; disable the account instead",
            system=self.system_id,
        )

    def delete_account(self, ref: AccountRef) -> None:
        self._created.pop(ref.native_id, None)
        try:
            self.graph.call("DELETE", self._path(ref), action="delete_account")
        except NotFound:
            return  # already gone

    def iter_accounts(self, page_size: int = 500) -> Iterator[AccountState]:
        size = max(1, min(page_size, self.settings.page_size))
        params = {**users.user_params(self.settings), "$top": str(size)}
        for page in self.graph.pages("/users", action="iter_accounts", params=params):
            found = page.get("value", [])
            groups = directory.group_memberships(self.graph, [u["id"] for u in found])
            for user, names in zip(found, groups, strict=True):
                yield users.state_of(user, names)

    def check_password(self, ref: AccountRef, password: Secret) -> bool:  # noqa: ARG002
        raise NotSupported(
            "Graph cannot check a password (no test sign-in)", system=self.system_id
        )

    def close(self) -> None:
        self.graph.close()

    # -- beyond the Protocol -----------------------------------------------

    def remove_licenses(self, ref: AccountRef) -> list[str]:
        """Remove every assigned licence (5.18 leavers); returns the SKU ids
        removed, so the caller can record them. None assigned is success."""
        return directory.remove_licenses(self.graph, ref.native_id)

    def list_role_assignments(self) -> list[RoleAssignment]:
        """Who holds which directory role, for the privileged inventory."""
        return directory.role_assignments(self.graph)

    def list_privileged_accounts(
        self,
        privileged_groups: Collection[str] = (),  # noqa: ARG002 - roles, not groups
    ) -> list[PrivilegedHolding]:
        """Every activated directory role's members (8.2): users, and the
        groups and service principals that hold a role."""
        return [
            PrivilegedHolding(
                account=AccountRef(
                    a.principal_id,
                    users.username_of(a.principal_upn)
                    if a.principal_upn
                    else f"{a.principal_type}:{a.principal_id}",
                ),
                right=a.role_name,
                kind="directory_role",
                principal_type=a.principal_type,
            )
            for a in self.list_role_assignments()
        ]

    def delta(self, delta_link: str | None) -> DeltaPage:
        """Users changed since ``delta_link`` (all users when None); store
        the returned ``delta_link`` for the next call."""
        return directory.delta(self.graph, delta_link)

    def run_batch(self, requests_: Sequence[BatchRequest]) -> list[BatchResponse]:
        """Any Graph requests through ``$batch`` (20 per call), in order."""
        return self.graph.batch(requests_, action="run_batch")

    def disable_many(self, refs: Sequence[AccountRef]) -> BulkOutcome:
        """Disable many accounts in ``$batch``es."""
        return directory.disable_many(self.graph, [r.native_id for r in refs])

    def add_members(self, group: str, refs: Sequence[AccountRef]) -> BulkOutcome:
        """Add many accounts to one group in ``$batch``es; members already
        there count as done."""
        return self.groups.add_many(group, [r.native_id for r in refs])

    # -- helpers -------------------------------------------------------------

    def _path(self, ref: AccountRef) -> str:
        return f"/users/{path_id(ref.native_id)}"

    def _upn_filter(self, username: str) -> str:
        upn = users.principal_name(username, self.settings)
        return f"userPrincipalName eq {users.literal(upn)}"

    def _user(self, action: str, native_id: str, fields: str) -> dict[str, Any]:
        user: dict[str, Any] = self.graph.get(
            f"/users/{path_id(native_id)}", action=action, params={"$select": fields}
        )
        return user

    def _find_one(self, odata_filter: str, action: str) -> dict[str, Any] | None:
        params = {**users.user_params(self.settings), "$filter": odata_filter}
        page = self.graph.get("/users", action=action, params=params)
        found: list[dict[str, Any]] = page.get("value", [])
        if len(found) > 1:
            raise Conflict(
                f"{action}: {len(found)} accounts match {odata_filter}",
                system=self.system_id,
            )
        return found[0] if found else None

    def _post_user(self, spec: AccountSpec, password: Secret | None) -> dict[str, Any]:
        body = users.new_user_body(
            spec,
            password.reveal() if password else users.unusable_password(),
            enabled=spec.enabled and password is not None,
            settings=self.settings,
        )
        try:
            created: dict[str, Any] = self.graph.call(
                "POST", "/users", action="create_account", body=body
            )
            now = time.monotonic()
            self._created = {i: t for i, t in self._created.items() if now - t < _GRACE}
            self._created[str(created["id"])] = now
            # Graph answers with its default properties only: no employeeId.
            return {**created, "employeeId": spec.employee_id}
        except PermanentError as exc:
            if not already_exists(exc.message):
                raise
        # Created meanwhile, or by our own request before a lost reply.
        existing = self._find_one(self._upn_filter(spec.username), "create_account")
        if existing is None:
            raise Conflict(
                f"create_account: {users.principal_name(spec.username, self.settings)}"
                " is taken by an object we cannot read (a deleted user?)",
                system=self.system_id,
            )
        return existing

    def _patch(self, ref: AccountRef, body: dict[str, Any], action: str) -> None:
        self.graph.call("PATCH", self._path(ref), action=action, body=body)

    def _set_manager(self, ref: AccountRef, manager_id: str, action: str) -> None:
        reference = {
            "@odata.id": f"{self.settings.graph_base}/users/{path_id(manager_id)}"
        }
        self.graph.call(
            "PUT", f"{self._path(ref)}/manager/$ref", action=action, body=reference
        )

    def _clear_manager(self, ref: AccountRef) -> None:
        try:
            self.graph.call(
                "DELETE", f"{self._path(ref)}/manager/$ref", action="update_account"
            )
        except NotFound:
            # No manager to remove, or no such user: only the latter is an error.
            self._user("update_account", ref.native_id, "id")

    def _read(self, ref: AccountRef) -> AccountState:
        """The user and its groups in one round trip (a ``$batch`` of two)."""
        path = self._path(ref)
        query = urlencode(users.user_params(self.settings), safe="$,()=")
        user, member_of = self.graph.batch(
            [
                BatchRequest("GET", f"{path}?{query}"),
                BatchRequest("GET", f"{path}/memberOf?$select=id,displayName"),
            ],
            action="get_account",
            reads_only=True,
        )
        for answer in (user, member_of):
            if not answer.ok:
                raise directory.batch_error(self.graph, answer, "get_account")
        groups = directory.collect(self.graph, member_of.body, "get_account")
        return users.state_of(user.body, users.group_names(groups))

    def _state(self, user: Mapping[str, Any]) -> AccountState:
        first = self.graph.get(
            f"/users/{path_id(str(user['id']))}/memberOf",
            action="memberOf",
            params={"$select": "id,displayName"},
        )
        members = directory.collect(self.graph, first, "memberOf")
        return users.state_of(user, users.group_names(members))
