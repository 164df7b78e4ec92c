"""Active Directory (and Samba AD) accounts over LDAPS.

Accounts are addressed by objectGUID through ``<GUID=...>`` DNs, so a rename
or a move to the leavers' OU never loses them. Writes are idempotent and
read the object first where AD itself would refuse a repeat (a member added
twice). One ``ActiveDirectoryConnector`` keeps one bound connection
(``connectors.ldap_session``) and is not thread-safe: one per worker thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import ldap3
from ldap3.utils.dn import escape_rdn

from connectors import ad_attributes as ad
from connectors.ad_groups import GroupDirectory
from connectors.ad_settings import ADSettings, ldap_connection_factory
from connectors.base import (
    ATTRIBUTE_NAMES,
    AccountRef,
    AccountSpec,
    AccountState,
    Capability,
    Conflict,
    ConnectorError,
    NotFound,
    NotSupported,
    Secret,
)
from connectors.ldap_errors import LdapResult, bind_reason_code, error_for_result
from connectors.ldap_session import LdapEntry, LdapSession

__all__ = ["AD_CAPABILITIES", "ADSettings", "ActiveDirectoryConnector"]

AD_CAPABILITIES = frozenset(
    {
        Capability.PASSWORD,
        Capability.MOVE_TO_LEAVERS,
        Capability.GROUPS,
        Capability.DELETE,
        Capability.TEST_BIND,
        Capability.LAST_SIGN_IN,
    }
)


class ActiveDirectoryConnector:
    """The ``Connector`` for Active Directory. Not thread-safe."""

    def __init__(
        self,
        settings: ADSettings,
        connection_factory: Callable[[], Any] | None = None,
    ) -> None:
        self.system_id = settings.system_id
        # No REVOKE_SESSIONS: AD has no session API. HIDE_FROM_ADDRESS_LISTS is
        # done by move_to_leavers when the schema has Exchange's attribute.
        self.capabilities: frozenset[Capability] = AD_CAPABILITIES
        self._settings = settings
        self._session = LdapSession(
            connection_factory or ldap_connection_factory(settings),
            system=self.system_id,
        )
        self._groups = GroupDirectory(
            self._session,
            groups_base=settings.groups_ou or settings.base_dn,
            base_dn=settings.base_dn,
            system=self.system_id,
        )
        self._hide_supported: bool | None = None

    def create_account(self, spec: AccountSpec, password: Secret | None) -> AccountRef:
        ad.check_identifiers(spec.username, spec.employee_id, system=self.system_id)
        existing = self._find_one(ad.equality_filter("sAMAccountName", spec.username))
        if existing is None:
            dn = f"CN={escape_rdn(spec.username)},{self._settings.users_ou}"
            attributes = self._new_user_attributes(spec, password)
            result = self._session.add(
                "create_account", dn, ad.USER_OBJECT_CLASS, attributes
            )
            if result.ok:
                return self._ref(self._read(dn, "create_account"))
            if result.name != "entryAlreadyExists":
                raise self._error(result, "create_account")
            # Created meanwhile (or by our own request before a lost reply).
            existing = self._find_one(
                ad.equality_filter("sAMAccountName", spec.username)
            )
            if existing is None:
                raise Conflict(
                    f"create_account: {dn} exists but is not an account named "
                    f"{spec.username!r}",
                    system=self.system_id,
                )
        if existing.first("employeeID") != spec.employee_id:
            raise Conflict(
                f"create_account: user name {spec.username!r} already belongs to "
                "another employee (employeeID differs)",
                system=self.system_id,
            )
        return self._ref(existing)

    def find_account(
        self, *, username: str | None = None, employee_id: str | None = None
    ) -> AccountState | None:
        clauses = [
            ad.equality_filter(name, value)
            for name, value in (
                ("sAMAccountName", username),
                ("employeeID", employee_id),
            )
            if value is not None
        ]
        if not clauses:
            raise ValueError("find_account needs a username or an employee_id")
        entry = self._find_one("".join(clauses))
        return None if entry is None else self._states([entry])[0]

    def get_account(self, ref: AccountRef) -> AccountState:
        return self._states([self._read_ref(ref, "get_account")])[0]

    def update_account(
        self, ref: AccountRef, changes: Mapping[str, str | None]
    ) -> None:
        unknown = set(changes) - ATTRIBUTE_NAMES
        if unknown:
            raise ValueError(f"unknown attributes: {sorted(unknown)}")
        entry = self._read_ref(ref, "update_account")
        modifications: dict[str, list[tuple[str, list[str]]]] = {}
        for ours, value in changes.items():
            theirs = ad.AD_NAMES.get(ours, "manager")
            wanted = value or None  # AD cannot hold an empty string: clear instead
            if wanted is not None and theirs == "manager":
                wanted = self._read_ref(
                    AccountRef(wanted, ""), "update_account: manager"
                ).dn
            have = entry.first(theirs)
            if theirs == "manager":
                unchanged = ad.same_dn(have or "", wanted or "")
            else:
                unchanged = have == wanted
            if not unchanged:
                modifications[theirs] = [
                    (ldap3.MODIFY_REPLACE, [wanted] if wanted else [])
                ]
        if modifications:
            result = self._session.modify("update_account", entry.dn, modifications)
            self._check(result, "update_account")

    def set_enabled(self, ref: AccountRef, enabled: bool) -> None:
        entry = self._read_ref(ref, "set_enabled")
        uac = int(entry.first("userAccountControl") or ad.NORMAL_ACCOUNT)
        wanted = uac & ~ad.ACCOUNTDISABLE if enabled else uac | ad.ACCOUNTDISABLE
        if wanted != uac:  # other bits (password never expires, ...) are kept
            change = {"userAccountControl": [(ldap3.MODIFY_REPLACE, [str(wanted)])]}
            self._check(
                self._session.modify("set_enabled", entry.dn, change), "set_enabled"
            )

    def set_password(
        self, ref: AccountRef, password: Secret, *, must_change: bool
    ) -> None:
        changes: dict[str, list[tuple[str, list[bytes | str]]]] = {
            "unicodePwd": [
                (ldap3.MODIFY_REPLACE, [ad.password_value(password.reveal())])
            ]
        }
        # An admin reset stamps pwdLastSet with "now" by itself, which also
        # clears an earlier must-change; 0 in the same request sets it again.
        if must_change:
            changes["pwdLastSet"] = [(ldap3.MODIFY_REPLACE, ["0"])]
        dn = ad.guid_dn(ref.native_id, system=self.system_id)
        self._check(self._session.modify("set_password", dn, changes), "set_password")

    def add_to_group(self, ref: AccountRef, group: str) -> None:
        self._groups.change(self._read_ref(ref, "add_to_group"), group, add=True)

    def remove_from_group(self, ref: AccountRef, group: str) -> None:
        self._groups.change(self._read_ref(ref, "remove_from_group"), group, add=False)

    def revoke_sessions(self, ref: AccountRef) -> None:  # noqa: ARG002 - Protocol
        raise NotSupported(
            "Active Directory has no session API; disable the account instead",
            system=self.system_id,
        )

    def move_to_leavers(self, ref: AccountRef) -> None:
        entry = self._read_ref(ref, "move_to_leavers")
        leavers = self._settings.leavers_ou
        if not ad.same_dn(ad.parent_dn(entry.dn), leavers):
            result = self._session.modify_dn(
                "move_to_leavers", entry.dn, ad.rdn_of(entry.dn), leavers
            )
            self._check(result, "move_to_leavers")
        if (
            self._can_hide()
            and (entry.first(ad.HIDE_ATTRIBUTE) or "").upper() != "TRUE"
        ):
            hide = {ad.HIDE_ATTRIBUTE: [(ldap3.MODIFY_REPLACE, ["TRUE"])]}
            dn = ad.guid_dn(ref.native_id, system=self.system_id)
            self._check(
                self._session.modify("move_to_leavers", dn, hide), "move_to_leavers"
            )

    def delete_account(self, ref: AccountRef) -> None:
        try:
            entry = self._read_ref(ref, "delete_account")
        except NotFound:
            return  # already gone
        # Tree delete, limited to this user object (it was just read as one):
        # users may hold child objects (ActiveSync devices) that make a plain
        # delete fail with notAllowedOnNonLeaf.
        control = (ad.TREE_DELETE_OID, True, None)
        result = self._session.delete("delete_account", entry.dn, [control])
        if not result.ok and result.name != "noSuchObject":
            raise self._error(result, "delete_account")

    def iter_accounts(self, page_size: int = 500) -> Iterator[AccountState]:
        size = max(1, min(page_size, self._settings.page_size))
        for container in self._managed_containers():
            pages = self._session.paged_search(
                "iter_accounts", container, ad.PERSON_FILTER, ad.READ_ATTRIBUTES, size
            )
            for page in pages:
                yield from self._states(page)

    def check_password(self, ref: AccountRef, password: Secret) -> bool:
        if not password.reveal():
            # An empty password makes a simple bind "unauthenticated", which
            # servers accept without checking anything (RFC 4513 5.1.2).
            return False
        entry = self._read_ref(ref, "check_password")
        result = self._session.probe_bind(entry.dn, password.reveal())
        if result.ok:
            return True
        if result.name == "invalidCredentials":
            # 773: the password is right, and must be changed at first sign-in,
            # as create_account / set_password(must_change=True) asked for.
            return bind_reason_code(result.message) == "773"
        raise self._error(result, "check_password")

    def close(self) -> None:
        self._session.close()

    # -- helpers -------------------------------------------------------------

    def _new_user_attributes(
        self, spec: AccountSpec, password: Secret | None
    ) -> dict[str, Any]:
        disabled = not (spec.enabled and password is not None)
        attributes: dict[str, Any] = {
            "sAMAccountName": spec.username,
            "userPrincipalName": f"{spec.username}@{self._settings.upn_suffix}",
            "employeeID": spec.employee_id,
            "userAccountControl": str(
                ad.NORMAL_ACCOUNT | (ad.ACCOUNTDISABLE if disabled else 0)
            ),
        }
        for ours, value in spec.attributes().items():
            if value and ours == "manager_native_id":
                attributes["manager"] = self._read_ref(
                    AccountRef(value, ""), "create_account: manager"
                ).dn
            elif value:
                attributes[ad.AD_NAMES[ours]] = value
        if password is not None:
            # One atomic add: the password, "must change" (pwdLastSet=0) and the
            # enabled flag together, so a refused password leaves nothing behind.
            attributes["unicodePwd"] = ad.password_value(password.reveal())
            attributes["pwdLastSet"] = "0"
        return attributes

    def _read(self, dn: str, action: str) -> LdapEntry:
        result, entries = self._session.search(
            action, dn, ad.PERSON_FILTER, ad.READ_ATTRIBUTES, scope=ldap3.BASE
        )
        if result.name == "noSuchObject" or (result.ok and not entries):
            raise NotFound(f"{action}: no account at {dn}", system=self.system_id)
        self._check(result, action)
        return entries[0]

    def _read_ref(self, ref: AccountRef, action: str) -> LdapEntry:
        return self._read(ad.guid_dn(ref.native_id, system=self.system_id), action)

    def _find_one(self, condition: str) -> LdapEntry | None:
        ldap_filter = f"(&{ad.PERSON_FILTER}{condition})"
        result, entries = self._session.search(
            "find_account", self._settings.base_dn, ldap_filter, ad.READ_ATTRIBUTES
        )
        self._check(result, "find_account")
        if len(entries) > 1:
            raise Conflict(
                f"find_account: {len(entries)} accounts match {condition}",
                system=self.system_id,
            )
        return entries[0] if entries else None

    def _states(self, entries: Sequence[LdapEntry]) -> list[AccountState]:
        dns = {
            dn for e in entries for dn in (*e.values("memberOf"), *e.values("manager"))
        }
        known = self._groups.describe(dns)
        return [ad.account_state(entry, known) for entry in entries]

    def _ref(self, entry: LdapEntry) -> AccountRef:
        return AccountRef(ad.guid_of(entry), entry.first("sAMAccountName") or "")

    def _managed_containers(self) -> list[str]:
        # A container inside the other is covered by the other's subtree search.
        users, leavers = self._settings.users_ou, self._settings.leavers_ou
        if ad.is_within(leavers, users):
            return [users]
        if ad.is_within(users, leavers):
            return [leavers]
        return [users, leavers]

    def _can_hide(self) -> bool:
        """Whether the schema has msExchHideFromAddressLists (checked once)."""
        if self._hide_supported is None:
            schema = self._session.root_attribute("schemaNamingContext")
            condition = ad.equality_filter("lDAPDisplayName", ad.HIDE_ATTRIBUTE)
            result, found = self._session.search(
                "read schema", schema, condition, ["lDAPDisplayName"], scope=ldap3.LEVEL
            )
            self._check(result, "read schema")
            self._hide_supported = bool(found)
        return self._hide_supported

    def _check(self, result: LdapResult, action: str) -> None:
        if not result.ok:
            raise self._error(result, action)

    def _error(self, result: LdapResult, action: str) -> ConnectorError:
        return error_for_result(result, action=action, system=self.system_id)
