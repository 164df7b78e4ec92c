"""Active Directory (and Samba AD) accounts over LDAPS.

Accounts are addressed by objectGUID through ``<GUID=...>`` DNs, so a rename
or a move to the leavers' OU never loses them. Writes are idempotent and
read the object first where AD itself would refuse a repeat (a member added
twice). One ``ActiveDirectoryConnector`` keeps one bound connection
(``connectors.ldap_session``) and is not thread-safe: one per worker thread.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import ldap3
from ldap3.utils.dn import escape_rdn

from connectors import ad_attributes as ad
from connectors.ad_directory import AdDirectory
from connectors.ad_privileged import AdPrivileged
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
    PrivilegedHolding,
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
        self._dir = AdDirectory(
            self._session,
            groups_base=settings.groups_ou or settings.base_dn,
            base_dn=settings.base_dn,
            system=self.system_id,
        )

    def create_account(self, spec: AccountSpec, password: Secret | None) -> AccountRef:
        ad.check_identifiers(spec.username, spec.employee_id, system=self.system_id)
        by_name = ad.equality_filter("sAMAccountName", spec.username)
        existing = self._dir.find_one(by_name)
        if existing is None:
            created = self._add_user(spec, password)
            if created is not None:
                return created
            # Created meanwhile (or by our own request before a lost reply).
            existing = self._dir.find_one(by_name)
            if existing is None:
                raise Conflict(
                    f"create_account: CN={spec.username} exists in "
                    f"{self._settings.users_ou} but is not an account of that name",
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
        entry = self._dir.find_one("".join(clauses))
        return None if entry is None else self._dir.states([entry])[0]

    def get_account(self, ref: AccountRef) -> AccountState:
        return self._dir.states([self._dir.read_ref(ref, "get_account")])[0]

    def update_account(
        self, ref: AccountRef, changes: Mapping[str, str | None]
    ) -> None:
        unknown = set(changes) - ATTRIBUTE_NAMES
        if unknown:
            raise ValueError(f"unknown attributes: {sorted(unknown)}")
        entry = self._dir.read_ref(ref, "update_account")
        replacements: dict[str, list[str | bytes]] = {}
        for ours, value in changes.items():
            theirs = ad.AD_NAMES.get(ours, "manager")
            wanted = value or None  # AD cannot hold an empty string: clear instead
            if wanted is not None and theirs == "manager":
                wanted = self._manager_dn(wanted, "update_account")
            have = entry.first(theirs)
            if theirs == "manager":
                unchanged = ad.same_dn(have or "", wanted or "")
            else:
                unchanged = have == wanted
            if not unchanged:
                replacements[theirs] = [wanted] if wanted else []
        if replacements:
            self._replace("update_account", entry.dn, replacements)

    def set_enabled(self, ref: AccountRef, enabled: bool) -> None:
        entry = self._dir.read_ref(ref, "set_enabled")
        uac = int(entry.first("userAccountControl") or ad.NORMAL_ACCOUNT)
        wanted = uac & ~ad.ACCOUNTDISABLE if enabled else uac | ad.ACCOUNTDISABLE
        if wanted != uac:  # other bits (password never expires, ...) are kept
            self._replace(
                "set_enabled", entry.dn, {"userAccountControl": [str(wanted)]}
            )

    def set_password(
        self, ref: AccountRef, password: Secret, *, must_change: bool
    ) -> None:
        values: dict[str, list[str | bytes]] = {
            "unicodePwd": [ad.password_value(password.reveal())]
        }
        # 5.17: the caller decides whether this password must change. An admin
        # reset stamps pwdLastSet with "now" by itself, which also clears an
        # earlier must-change; 0 in the same request sets it again.
        if must_change:
            values["pwdLastSet"] = ["0"]
        dn = ad.guid_dn(ref.native_id, system=self.system_id)
        self._replace("set_password", dn, values)

    def add_to_group(self, ref: AccountRef, group: str) -> None:
        self._dir.change(self._dir.read_ref(ref, "add_to_group"), group, add=True)

    def remove_from_group(self, ref: AccountRef, group: str) -> None:
        self._dir.change(self._dir.read_ref(ref, "remove_from_group"), group, add=False)

    def revoke_sessions(self, ref: AccountRef) -> None:  # noqa: ARG002 - Protocol
        raise NotSupported(
            "Active Directory has no session API; disable the account instead",
            system=self.system_id,
        )

    def move_to_leavers(self, ref: AccountRef) -> None:
        # 5.16 / 5.18: a leaver's account is kept (disabled, for audit and
        # asset return) apart from active ones until it is deleted.
        entry = self._dir.read_ref(ref, "move_to_leavers")
        leavers = self._settings.leavers_ou
        if not ad.same_dn(ad.parent_dn(entry.dn), leavers):
            result = self._session.modify_dn(
                "move_to_leavers", entry.dn, ad.rdn_of(entry.dn), leavers
            )
            self._check(result, "move_to_leavers")
        hidden = (entry.first(ad.HIDE_ATTRIBUTE) or "").upper() == "TRUE"
        if not hidden and self._dir.schema_has(ad.HIDE_ATTRIBUTE):
            dn = ad.guid_dn(ref.native_id, system=self.system_id)
            self._replace("move_to_leavers", dn, {ad.HIDE_ATTRIBUTE: ["TRUE"]})

    def restore_account(self, ref: AccountRef) -> str | None:
        """A rehire (5.16): back from the leavers' OU to the users' OU, shown
        in address lists again. An account elsewhere stays where it is."""
        entry = self._dir.read_ref(ref, "restore_account")
        if ad.same_dn(ad.parent_dn(entry.dn), self._settings.leavers_ou):
            users = self._settings.users_ou
            result = self._session.modify_dn(
                "restore_account", entry.dn, ad.rdn_of(entry.dn), users
            )
            self._check(result, "restore_account")
        if (entry.first(ad.HIDE_ATTRIBUTE) or "").upper() == "TRUE":
            dn = ad.guid_dn(ref.native_id, system=self.system_id)
            self._replace("restore_account", dn, {ad.HIDE_ATTRIBUTE: []})
        # The server's spelling of the DN, for the caller's read-back check.
        return ad.parent_dn(self._dir.read_ref(ref, "restore_account").dn)

    def delete_account(self, ref: AccountRef) -> None:
        try:
            entry = self._dir.read_ref(ref, "delete_account")
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
                yield from self._dir.states(page)

    def check_password(self, ref: AccountRef, password: Secret) -> bool:
        if not password.reveal():
            # An empty password makes a simple bind "unauthenticated", which
            # servers accept without checking anything (RFC 4513 5.1.2).
            return False
        entry = self._dir.read_ref(ref, "check_password")
        result = self._session.probe_bind(entry.dn, password.reveal())
        if result.ok:
            return True
        if result.name == "invalidCredentials":
            # 773: the password is right, and must be changed at first sign-in,
            # as create_account / set_password(must_change=True) asked for.
            return bind_reason_code(result.message) == "773"
        raise self._error(result, "check_password")

    def list_privileged_accounts(
        self, privileged_groups: Collection[str] = ()
    ) -> list[PrivilegedHolding]:
        """Members, direct and nested, of the built-in privileged groups and
        of ``privileged_groups``; ``adminCount=1`` leftovers as possibly
        stale (``connectors.ad_privileged``). Reads the whole domain."""
        return AdPrivileged(
            self._session, base_dn=self._settings.base_dn, system=self.system_id
        ).holdings(privileged_groups)

    def password_changed_at(self, ref: AccountRef) -> datetime | None:
        """``pwdLastSet``: when the password was last set (None: never, or
        must change at next sign-in)."""
        dn = ad.guid_dn(ref.native_id, system=self.system_id)
        result, entries = self._session.search(
            "password_changed_at", dn, ad.PERSON_FILTER, ["pwdLastSet"], scope="BASE"
        )
        if result.name == "noSuchObject" or (result.ok and not entries):
            raise NotFound(
                f"password_changed_at: no account at {dn}", system=self.system_id
            )
        self._check(result, "password_changed_at")
        value = entries[0].first("pwdLastSet")
        return None if value in (None, "0") else ad.filetime(value)

    def close(self) -> None:
        self._session.close()

    # -- helpers -------------------------------------------------------------

    def _add_user(
        self, spec: AccountSpec, password: Secret | None
    ) -> AccountRef | None:
        """Add the account to users_ou; None if its DN is already taken."""
        dn = f"CN={escape_rdn(spec.username)},{self._settings.users_ou}"
        manager = spec.manager_native_id
        attributes = ad.new_user_attributes(
            spec,
            password,
            upn_suffix=self._settings.upn_suffix,
            manager_dn=self._manager_dn(manager, "create_account") if manager else None,
        )
        result = self._session.add(
            "create_account", dn, ad.USER_OBJECT_CLASS, attributes
        )
        if result.name == "entryAlreadyExists":
            return None
        self._check(result, "create_account")
        return self._ref(self._dir.read(dn, "create_account"))

    def _manager_dn(self, native_id: str, action: str) -> str:
        return self._dir.read_ref(AccountRef(native_id, ""), f"{action}: manager").dn

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

    def _replace(
        self, action: str, dn: str, values: Mapping[str, Sequence[str | bytes]]
    ) -> None:
        """Replace each attribute's values (none: clear it), in one request."""
        changes = {name: [(ldap3.MODIFY_REPLACE, vs)] for name, vs in values.items()}
        self._check(self._session.modify(action, dn, changes), action)

    def _check(self, result: LdapResult, action: str) -> None:
        if not result.ok:
            raise self._error(result, action)

    def _error(self, result: LdapResult, action: str) -> ConnectorError:
        return error_for_result(result, action=action, system=self.system_id)
