"""Who holds privileged rights in Active Directory (8.2), for the inventory.

The built-in privileged groups are found by their well-known SIDs, so a
localised domain (``Domänen-Admins``) is read the same way: Domain,
Enterprise and Schema Admins (the domain's RIDs 512, 519, 518) and the
builtin Administrators, Account, Server and Backup Operators. Groups the
policy marks privileged are found by name. Members are read with the
in-chain matching rule (``LDAP_MATCHING_RULE_IN_CHAIN``,
1.2.840.113556.1.4.1941), which follows nested groups on the server; the
groups in between are read the same way, so each holding says through
which groups it runs. Members by primary group (``primaryGroupID``) count
too: they appear in no ``memberOf``.

``adminCount=1`` marks accounts that AdminSDHolder protected once; it is
never cleared when the membership ends, so such an account without a
current privileged membership is reported as possibly stale.
"""

from __future__ import annotations

import struct
from collections.abc import Collection, Iterable
from dataclasses import dataclass

import ldap3
from ldap3.utils.conv import escape_filter_chars

from connectors import ad_attributes as ad
from connectors.base import AccountRef, PrivilegedHolding
from connectors.ldap_errors import error_for_result
from connectors.ldap_session import LdapEntry, LdapSession

IN_CHAIN = "1.2.840.113556.1.4.1941"
DOMAIN_RIDS = {"Domain Admins": 512, "Schema Admins": 518, "Enterprise Admins": 519}
BUILTIN_SIDS = {
    "Administrators": "S-1-5-32-544",
    "Account Operators": "S-1-5-32-548",
    "Server Operators": "S-1-5-32-549",
    "Backup Operators": "S-1-5-32-551",
}
_USER_ATTRIBUTES = (
    "objectGUID",
    "sAMAccountName",
    "userAccountControl",
    "memberOf",
    "primaryGroupID",
)


@dataclass(frozen=True)
class _Group:
    name: str
    dn: str
    rid: int | None  # for members by primaryGroupID


def sid_string(raw: bytes) -> str:
    """A binary objectSid as ``S-1-5-21-...`` (MS-DTYP 2.4.2)."""
    revision, count = raw[0], raw[1]
    authority = int.from_bytes(raw[2:8], "big")
    subs = struct.unpack(f"<{count}I", raw[8 : 8 + 4 * count])
    return "-".join(["S", str(revision), str(authority), *map(str, subs)])


class AdPrivileged:
    """The privileged-membership reads of one AD connector (not thread-safe)."""

    def __init__(self, session: LdapSession, *, base_dn: str, system: str) -> None:
        self._session = session
        self._base_dn = base_dn
        self._system = system

    def holdings(self, privileged_groups: Collection[str]) -> list[PrivilegedHolding]:
        groups = self._groups(privileged_groups)
        found: list[PrivilegedHolding] = []
        holders: set[str] = set()
        for group in groups:
            nested = self._nested_groups(group)
            for entry in self._members(group):
                ref = self._ref(entry)
                holders.add(ref.native_id)
                direct = {dn.casefold() for dn in entry.values("memberOf")}
                is_direct = group.dn.casefold() in direct or (
                    group.rid is not None
                    and entry.first("primaryGroupID") == str(group.rid)
                )
                via = tuple(sorted(nested[d] for d in direct if d in nested))
                found.append(
                    PrivilegedHolding(
                        account=ref,
                        right=group.name,
                        kind="group",
                        via=() if is_direct else via,
                        enabled=_enabled(entry),
                    )
                )
        found += self._stale_admin_count(holders)
        return found

    # -- helpers -------------------------------------------------------------

    def _groups(self, extra: Collection[str]) -> list[_Group]:
        domain_sid = self._domain_sid()
        wanted: dict[str, int | None] = {
            f"{domain_sid}-{rid}": rid for rid in DOMAIN_RIDS.values()
        }
        wanted |= dict.fromkeys(BUILTIN_SIDS.values())
        by_sid = "".join(f"(objectSid={sid})" for sid in wanted)
        by_name = "".join(ad.equality_filter("sAMAccountName", n) for n in extra)
        condition = f"(&(objectClass=group)(|{by_sid}{by_name}))"
        groups = {}
        for entry in self._search(condition, ("sAMAccountName", "objectSid")):
            raw = entry.raw_first("objectSid")
            sid = sid_string(raw) if raw else ""
            name = entry.first("sAMAccountName") or entry.dn
            groups[entry.dn.casefold()] = _Group(name, entry.dn, wanted.get(sid))
        return sorted(groups.values(), key=lambda g: g.name.casefold())

    def _nested_groups(self, group: _Group) -> dict[str, str]:
        """Groups inside ``group`` at any depth: case-folded DN -> name."""
        condition = self._chain_filter("(objectClass=group)", group.dn)
        return {
            e.dn.casefold(): e.first("sAMAccountName") or e.dn
            for e in self._search(condition, ("sAMAccountName",))
        }

    def _members(self, group: _Group) -> list[LdapEntry]:
        condition = self._chain_filter(ad.PERSON_FILTER, group.dn)
        if group.rid is not None:
            condition = (
                f"(&{ad.PERSON_FILTER}(|(memberOf:{IN_CHAIN}:={_escape(group.dn)})"
                f"(primaryGroupID={group.rid})))"
            )
        return self._search(condition, _USER_ATTRIBUTES)

    def _stale_admin_count(self, holders: set[str]) -> list[PrivilegedHolding]:
        condition = f"(&{ad.PERSON_FILTER}(adminCount=1))"
        return [
            PrivilegedHolding(
                account=self._ref(entry),
                right="adminCount=1",
                kind="admin_count",
                enabled=_enabled(entry),
                possibly_stale=True,
            )
            for entry in self._search(condition, _USER_ATTRIBUTES)
            if ad.guid_of(entry) not in holders
        ]

    def _domain_sid(self) -> str:
        result, entries = self._session.search(
            "list_privileged_accounts",
            self._base_dn,
            "(objectClass=*)",
            ["objectSid"],
            scope=ldap3.BASE,
        )
        raw = entries[0].raw_first("objectSid") if result.ok and entries else None
        if raw is None:
            raise error_for_result(
                result, action="read the domain SID", system=self._system
            )
        return sid_string(raw)

    @staticmethod
    def _chain_filter(kind: str, group_dn: str) -> str:
        return f"(&{kind}(memberOf:{IN_CHAIN}:={_escape(group_dn)}))"

    def _search(self, condition: str, attributes: Iterable[str]) -> list[LdapEntry]:
        entries: list[LdapEntry] = []
        for page in self._session.paged_search(
            "list_privileged_accounts", self._base_dn, condition, list(attributes), 500
        ):
            entries += page
        return entries

    @staticmethod
    def _ref(entry: LdapEntry) -> AccountRef:
        return AccountRef(ad.guid_of(entry), entry.first("sAMAccountName") or "")


def _enabled(entry: LdapEntry) -> bool:
    uac = int(entry.first("userAccountControl") or ad.NORMAL_ACCOUNT)
    return not uac & ad.ACCOUNTDISABLE


def _escape(dn: str) -> str:
    return str(escape_filter_chars(dn))
