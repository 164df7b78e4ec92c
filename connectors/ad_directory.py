"""Lookups in Active Directory: accounts, groups, the DNs they point at, the schema.

Accounts are read by ``<GUID=...>`` DN and must be user objects (a stray GUID
of an OU never reaches a write). Policies name groups by sAMAccountName;
LDAP wants DNs. The group DNs are cached
for the connector's life and looked up again when one goes stale (a group
moved or renamed). Samba 4.17 ignores the permissive-modify control for
``member``: adding a member twice is ``entryAlreadyExists`` and removing a
non-member is ``unwillingToPerform``, so membership is read first and those
answers are accepted as "already so".
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

import ldap3

from connectors import ad_attributes as ad
from connectors.ad_attributes import DnInfo, equality_filter, guid_of, same_dn
from connectors.base import AccountRef, AccountState, Conflict, NotFound
from connectors.ldap_errors import LdapResult, error_for_result
from connectors.ldap_session import LdapEntry, LdapSession

_DESCRIBE_BATCH = 50  # DNs per OR-filter: keeps filters well under server limits
_DESCRIBE_TTL = 300.0  # seconds
_DESCRIBE_CACHE_SIZE = 10_000


class AdDirectory:
    """The lookups one AD connector needs (not thread-safe, like the session)."""

    def __init__(
        self, session: LdapSession, *, groups_base: str, base_dn: str, system: str
    ) -> None:
        self._session = session
        self._groups_base = groups_base
        self._base_dn = base_dn
        self._system = system
        self._dns: dict[str, str] = {}
        self._schema: dict[str, bool] = {}
        # Group and manager DNs -> name and GUID: read-backs resolve the same
        # few groups over and over; a short TTL bounds staleness after a rename.
        self._described: dict[str, tuple[float, DnInfo]] = {}

    def read(self, dn: str, action: str) -> LdapEntry:
        """The user object at ``dn`` (a ``<GUID=...>`` DN will do), or ``NotFound``."""
        result, entries = self._session.search(
            action, dn, ad.PERSON_FILTER, ad.READ_ATTRIBUTES, scope=ldap3.BASE
        )
        if result.name == "noSuchObject" or (result.ok and not entries):
            raise NotFound(f"{action}: no account at {dn}", system=self._system)
        self._check(result, action)
        return entries[0]

    def read_ref(self, ref: AccountRef, action: str) -> LdapEntry:
        return self.read(ad.guid_dn(ref.native_id, system=self._system), action)

    def find_one(self, condition: str) -> LdapEntry | None:
        """The one account in the domain matching ``condition``, if any."""
        ldap_filter = f"(&{ad.PERSON_FILTER}{condition})"
        result, entries = self._session.search(
            "find_account", self._base_dn, ldap_filter, ad.READ_ATTRIBUTES
        )
        self._check(result, "find_account")
        if len(entries) > 1:
            raise Conflict(
                f"find_account: {len(entries)} accounts match {condition}",
                system=self._system,
            )
        return entries[0] if entries else None

    def states(self, entries: Sequence[LdapEntry]) -> list[AccountState]:
        """The entries as ``AccountState``s, group and manager DNs resolved."""
        dns = {
            dn for e in entries for dn in (*e.values("memberOf"), *e.values("manager"))
        }
        known = self._describe(dns)
        return [ad.account_state(entry, known) for entry in entries]

    def schema_has(self, attribute: str) -> bool:
        """Whether the schema defines ``attribute`` (asked once per name)."""
        if attribute not in self._schema:
            schema = self._session.root_attribute("schemaNamingContext")
            condition = equality_filter("lDAPDisplayName", attribute)
            result, found = self._session.search(
                "read schema", schema, condition, ["lDAPDisplayName"], scope=ldap3.LEVEL
            )
            self._check(result, "read schema")
            self._schema[attribute] = bool(found)
        return self._schema[attribute]

    def dn_of(self, group: str, action: str) -> str:
        """The DN of the group named ``group``; ``NotFound`` if there is none."""
        key = group.casefold()
        if key not in self._dns:
            condition = (
                f"(&(objectClass=group){equality_filter('sAMAccountName', group)})"
            )
            result, entries = self._session.search(
                action, self._groups_base, condition, ["sAMAccountName"]
            )
            self._check(result, action)
            if not entries:
                raise NotFound(
                    f"{action}: no group named {group!r} under {self._groups_base}",
                    system=self._system,
                )
            self._dns[key] = entries[0].dn
        return self._dns[key]

    def change(self, account: LdapEntry, group: str, *, add: bool) -> None:
        """Make ``account`` a member of ``group`` (or not); no-op if already so."""
        action = "add_to_group" if add else "remove_from_group"
        for attempt in (1, 2):
            group_dn = self.dn_of(group, action)
            is_member = any(same_dn(dn, group_dn) for dn in account.values("memberOf"))
            if is_member == add:
                return
            operation = ldap3.MODIFY_ADD if add else ldap3.MODIFY_DELETE
            result = self._session.modify(
                action, group_dn, {"member": [(operation, [account.dn])]}
            )
            if result.ok or self._already_done(result, add=add):
                return
            if result.name == "noSuchObject" and attempt == 1:
                # Our cached DN went stale: the group moved or was renamed.
                self._dns.pop(group.casefold(), None)
                continue
            raise error_for_result(result, action=action, system=self._system)

    def _describe(self, dns: Iterable[str]) -> dict[str, DnInfo]:
        """Names and objectGUIDs of the objects at ``dns`` (groups, managers),
        keyed by case-folded DN; DNs that no longer exist are left out."""
        now = time.monotonic()
        known: dict[str, DnInfo] = {}
        wanted = []
        for dn in sorted(set(dns)):
            cached = self._described.get(dn.casefold())
            if cached is not None and now - cached[0] < _DESCRIBE_TTL:
                known[dn.casefold()] = cached[1]
            else:
                wanted.append(dn)
        for start in range(0, len(wanted), _DESCRIBE_BATCH):
            batch = wanted[start : start + _DESCRIBE_BATCH]
            condition = "".join(
                equality_filter("distinguishedName", dn) for dn in batch
            )
            result, entries = self._session.search(
                "read groups and managers",
                self._base_dn,
                f"(|{condition})",
                ["objectGUID", "sAMAccountName"],
            )
            self._check(result, "read groups and managers")
            for entry in entries:
                name = entry.first("sAMAccountName") or ""
                info = DnInfo(native_id=guid_of(entry), name=name)
                known[entry.dn.casefold()] = info
                if len(self._described) >= _DESCRIBE_CACHE_SIZE:
                    self._described.clear()
                self._described[entry.dn.casefold()] = (now, info)
        return known

    @staticmethod
    def _already_done(result: LdapResult, *, add: bool) -> bool:
        # What AD and Samba answer when the membership is already as asked,
        # e.g. because a concurrent change got there between our read and write.
        if add:
            return result.name in ("entryAlreadyExists", "attributeOrValueExists")
        # Samba: "... already deleted ..."; AD: 00000561, ERROR_MEMBER_NOT_IN_ALIAS.
        not_a_member = (
            "already deleted" in result.message or "00000561" in result.message
        )
        return result.name == "noSuchAttribute" or (
            result.name == "unwillingToPerform" and not_a_member
        )

    def _check(self, result: LdapResult, action: str) -> None:
        if not result.ok:
            raise error_for_result(result, action=action, system=self._system)
