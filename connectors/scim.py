"""SaaS accounts over SCIM 2.0 (RFC 7643/7644): Slack, GitHub, Zoom,
Atlassian and any other service provider.

The provider is discovered on first use (``discover``): PATCH, filtering,
ETags and changePassword from ``/ServiceProviderConfig``, Groups and the
enterprise extension from ``/ResourceTypes`` and ``/Schemas``. The connector's
capabilities follow: GROUPS where Groups exist, PASSWORD where changePassword
is supported, DELETE unless the system is configured to deactivate only.
Sessions, the leavers' container and test binds do not exist in SCIM.

Accounts are addressed by the SCIM ``id``; ``externalId`` and the enterprise
``employeeNumber`` carry the employee id, ``userName`` is our user name
through ``ScimSettings.username_format``. Deprovisioning is PATCH
``active=false``; DELETE comes after the offboarding retention, when the
service queues it. One connector per thread (it caches discovery and group
ids); the ``requests.Session`` is injected and closed with the connector.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator, Mapping

import requests

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
    PolicyRefused,
    PrivilegedHolding,
    RetryableError,
    Secret,
)
from connectors.scim_directory import Resource, ScimDirectory
from connectors.scim_discovery import ScimCapabilities, as_bool
from connectors.scim_groups import ScimGroups, removal
from connectors.scim_http import ScimHttp, ScimRefused
from connectors.scim_mapping import (
    attribute_operations,
    check_password_rules,
    employee_of,
    new_user,
    read_state,
)
from connectors.scim_roles import ScimAdminRole, admin_roles
from connectors.scim_settings import ScimSettings

__all__ = ["ScimAdminRole", "ScimCapabilities", "ScimConnector", "ScimSettings"]

log = logging.getLogger(__name__)


class ScimConnector:
    """The ``Connector`` for a SCIM 2.0 service provider. Not thread-safe."""

    def __init__(
        self, settings: ScimSettings, session: requests.Session | None = None
    ) -> None:
        self.system_id = settings.system_id
        self.settings = settings
        self._dir = ScimDirectory(ScimHttp(settings, session or requests.Session()))
        self._groups = ScimGroups(self._dir)
        self._declared = settings.capabilities

    @property
    def capabilities(self) -> frozenset[Capability]:
        """Declared in the settings, else discovered. When the provider cannot
        be reached yet, every SCIM capability is assumed so that no step is
        silently skipped; one the provider lacks then fails loudly."""
        if self._declared is not None:
            return self._declared
        try:
            return self._discovered()
        except RetryableError as error:
            log.warning(
                "%s: discovery failed (%s); assuming all", self.system_id, error
            )
            return self.settings.assumed_capabilities

    @capabilities.setter
    def capabilities(self, value: frozenset[Capability]) -> None:
        self._declared = frozenset(value)

    def discover(self) -> ScimCapabilities:
        """What the provider supports (asked once, then cached)."""
        return self._dir.discover()

    def create_account(self, spec: AccountSpec, password: Secret | None) -> AccountRef:
        """POST /Users, or adopt the user holding this userName when it has
        this employee id. The password is sent only where the provider
        supports changePassword (elsewhere users sign in through SSO); an
        account created without one starts inactive."""
        capabilities = self.discover()
        sent = password.reveal() if password and capabilities.change_password else None
        if sent is not None:
            check_password_rules(sent, system=self.system_id)
        if spec.manager_native_id:
            self._dir.require_manager(spec.manager_native_id)
        user_name = self.settings.scim_user_name(spec.username)
        existing = self._dir.find_user_name(user_name)
        if existing is not None:
            return self._adopt(existing, spec)
        body = new_user(
            spec,
            user_name,
            enterprise=capabilities.enterprise_user,
            active=spec.enabled and password is not None,
            password=sent,
        )
        secrets = (sent,) if sent else ()
        try:
            created = self._dir.create_user(body, secrets)
        except Conflict as error:  # 409 uniqueness: someone holds it
            return self._adopt_taken(user_name, spec, error)
        except ScimRefused as error:
            if error.scim_type == "uniqueness":  # a 400 where RFC 7644 says 409
                return self._adopt_taken(user_name, spec, error)
            if sent and "password" in error.detail.lower():
                raise PolicyRefused(str(error), system=self.system_id) from None
            raise
        return AccountRef(created, spec.username)

    def find_account(
        self, *, username: str | None = None, employee_id: str | None = None
    ) -> AccountState | None:
        if username is None and employee_id is None:
            raise ValueError("find_account needs a username or an employee_id")
        if username is not None:
            found = self._dir.find_user_name(self.settings.scim_user_name(username))
            if found is not None and employee_id not in (None, employee_of(found)):
                return None
        else:
            found = self._dir.find_employee(str(employee_id))
        return self._state(found) if found is not None else None

    def get_account(self, ref: AccountRef) -> AccountState:
        resource, _ = self._dir.get_user(ref.native_id)
        return self._state(resource)

    def update_account(
        self, ref: AccountRef, changes: Mapping[str, str | None]
    ) -> None:
        unknown = set(changes) - ATTRIBUTE_NAMES
        if unknown:
            raise ValueError(f"unknown attributes: {sorted(unknown)}")
        manager = changes.get("manager_native_id")
        if manager:
            self._dir.require_manager(manager)
        operations = attribute_operations(
            changes, enterprise=self.discover().enterprise_user
        )
        if not operations:
            self._dir.get_user(ref.native_id)  # still NotFound for a missing user
            return
        self._dir.write_user(ref.native_id, operations, changes)

    def set_enabled(self, ref: AccountRef, enabled: bool) -> None:
        """PATCH ``active``; deprovisioning is ``set_enabled(ref, False)``."""
        self._dir.write_user(
            ref.native_id,
            [{"op": "replace", "path": "active", "value": enabled}],
            {"active": enabled},
            unchanged=lambda user: as_bool(user.get("active", True)) == enabled,
        )

    def set_password(
        self,
        ref: AccountRef,
        password: Secret,
        *,
        must_change: bool,  # noqa: ARG002 - SCIM cannot express it
    ) -> None:
        """PATCH ``password``. SCIM core cannot say "change at next sign-in",
        so ``must_change`` is not expressed; the provider's policy applies."""
        self._need(Capability.PASSWORD)
        value = password.reveal()
        check_password_rules(value, system=self.system_id)
        try:
            self._dir.write_user(
                ref.native_id,
                [{"op": "replace", "path": "password", "value": value}],
                {"password": value},
                secrets=(value,),
            )
        except ScimRefused as error:  # the password is the only value sent
            raise PolicyRefused(
                f"password refused: {error.detail or error.scim_type}",
                system=self.system_id,
            ) from None

    def add_to_group(self, ref: AccountRef, group: str) -> None:
        """PATCH the group: ``add`` the member; already one is success."""
        self._need(Capability.GROUPS)
        self._dir.get_user(ref.native_id)  # the provider may accept a ghost id
        operation = {
            "op": "add",
            "path": "members",
            "value": [{"value": ref.native_id}],
        }
        try:
            self._groups.patch_named(group, operation)
        except Conflict:  # some providers refuse a duplicate member
            return

    def remove_from_group(self, ref: AccountRef, group: str) -> None:
        """PATCH the group: ``remove`` ``members[value eq "id"]``; not a
        member is success."""
        self._need(Capability.GROUPS)
        self._dir.get_user(ref.native_id)
        try:
            self._groups.patch_named(group, removal(ref.native_id))
        except ScimRefused as error:
            if error.scim_type != "noTarget":  # "no such member": already done
                raise

    def revoke_sessions(self, ref: AccountRef) -> None:  # noqa: ARG002 - Protocol
        raise NotSupported("SCIM has no sessions to revoke", system=self.system_id)

    def move_to_leavers(self, ref: AccountRef) -> None:  # noqa: ARG002 - Protocol
        raise NotSupported("SCIM has no leavers' container", system=self.system_id)

    def delete_account(self, ref: AccountRef) -> None:
        """DELETE the user; already gone is success. Its memberships are
        removed first: some providers (scim2-server among them) keep a
        deleted user listed in its groups, which would leave a ghost."""
        self._need(Capability.DELETE)
        try:
            self._dir.get_user(ref.native_id)
        except NotFound:
            return
        if self.settings.remove_memberships_on_delete and self.discover().groups:
            for group_id in self._groups.memberships(ref.native_id):
                self._groups.patch(group_id, removal(ref.native_id))
        self._dir.delete_user(ref.native_id)

    def iter_accounts(self, page_size: int = 500) -> Iterator[AccountState]:
        """Every user, paged; memberships come from one listing of the groups."""
        capabilities = self.discover()
        index = self._groups.membership_index() if capabilities.groups else {}
        for user in self._dir.pages(capabilities.users_endpoint, {}, page_size):
            yield self._state(user, index.get(str(user["id"]), set()))

    def check_password(self, ref: AccountRef, password: Secret) -> bool:  # noqa: ARG002
        raise NotSupported("SCIM cannot test a password", system=self.system_id)

    def list_admin_roles(self) -> list[ScimAdminRole]:
        """Admin roles held on the provider (8.2), from the users' ``roles``
        and ``entitlements``; an empty list where it exposes neither."""
        return admin_roles(self._dir, self.settings.admin_roles)

    def list_privileged_accounts(
        self,
        privileged_groups: Collection[str] = (),  # noqa: ARG002 - roles, not groups
    ) -> list[PrivilegedHolding]:
        """The admin roles of ``list_admin_roles`` as inventory holdings."""
        return [
            PrivilegedHolding(
                account=role.account,
                right=role.value,
                kind="admin_role",
                enabled=role.account_enabled,
            )
            for role in self.list_admin_roles()
        ]

    def close(self) -> None:
        self._dir.http.close()

    # -- helpers -------------------------------------------------------------

    def _discovered(self) -> frozenset[Capability]:
        return self.discover().connector_capabilities(
            delete=self.settings.delete_accounts
        )

    def _need(self, capability: Capability) -> None:
        declared = self._declared if self._declared is not None else {capability}
        if capability not in declared or capability not in self._discovered():
            raise NotSupported(
                f"this provider has no {capability.value}", system=self.system_id
            )

    def _state(self, user: Resource, groups: set[str] | None = None) -> AccountState:
        user_name = self.settings.our_user_name(str(user.get("userName")))
        ref = AccountRef(str(user["id"]), user_name)
        if groups is None:
            groups = self._groups.names_of(user)
        return read_state(user, ref, groups)

    def _adopt(self, existing: Resource, spec: AccountSpec) -> AccountRef:
        if employee_of(existing) != spec.employee_id:
            raise Conflict(
                f"userName {existing.get('userName')!r} belongs to another employee",
                system=self.system_id,
            )
        return AccountRef(str(existing["id"]), spec.username)

    def _adopt_taken(
        self, user_name: str, spec: AccountSpec, error: PermanentError
    ) -> AccountRef:
        """The provider says the userName is taken: adopt it or refuse."""
        existing = self._dir.find_user_name(user_name)
        if existing is None:
            raise error
        return self._adopt(existing, spec)
