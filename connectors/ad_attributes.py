"""How our account model maps onto Active Directory's user objects.

Pure value conversions, no I/O: GUIDs and ``<GUID=...>`` DNs, the quoted
UTF-16LE password encoding, ``userAccountControl`` bits, FILETIME
timestamps, and an LDAP entry read back as an ``AccountState``.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import to_dn

from connectors.base import (
    AccountRef,
    AccountSpec,
    AccountState,
    NotFound,
    PolicyRefused,
    Secret,
)
from connectors.ldap_session import LdapEntry

USER_OBJECT_CLASS = ("top", "person", "organizationalPerson", "user")
# objectClass=user alone also matches computer accounts.
PERSON_FILTER = "(&(objectCategory=person)(objectClass=user))"
ACCOUNTDISABLE = 0x2
NORMAL_ACCOUNT = 0x200
HIDE_ATTRIBUTE = "msExchHideFromAddressLists"  # only in Exchange-extended schemas
TREE_DELETE_OID = "1.2.840.113556.1.4.805"

# Our attribute names -> AD's. ``manager_native_id`` is a DN in AD, mapped apart.
AD_NAMES = {
    "given_name": "givenName",
    "family_name": "sn",
    "display_name": "displayName",
    "email": "mail",
    "department": "department",
    "title": "title",
}
READ_ATTRIBUTES = (
    "objectGUID",
    "sAMAccountName",
    "employeeID",
    "userAccountControl",
    "memberOf",
    "manager",
    "lastLogonTimestamp",
    HIDE_ATTRIBUTE,  # servers without it in the schema simply return nothing
    *AD_NAMES.values(),
)

MAX_EMPLOYEE_ID_LENGTH = 16  # employeeID's rangeUpper in the AD schema
# sAMAccountName: at most 20 characters, none of these (the pre-2000 logon name).
MAX_USERNAME_LENGTH = 20
_USERNAME_FORBIDDEN = re.compile(r'["/\\\[\]:;|=,+*?<>@]|^\.|\.$|^\s|\s$')
_FILETIME_EPOCH = dt.datetime(1601, 1, 1, tzinfo=dt.UTC)
_FILETIME_NEVER = (0, 0x7FFFFFFFFFFFFFFF)


@dataclass(frozen=True)
class DnInfo:
    """What a DN found in ``memberOf`` or ``manager`` stands for."""

    native_id: str
    name: str


def check_identifiers(username: str, employee_id: str, *, system: str) -> None:
    """Refuse a user name or employee id AD cannot hold."""
    if len(employee_id) > MAX_EMPLOYEE_ID_LENGTH:
        raise PolicyRefused(
            f"employee id {employee_id!r} is longer than the "
            f"{MAX_EMPLOYEE_ID_LENGTH} characters AD's employeeID holds",
            system=system,
        )
    if not username or len(username) > MAX_USERNAME_LENGTH:
        raise PolicyRefused(
            f"user name {username!r} must be 1 to {MAX_USERNAME_LENGTH} characters "
            "(sAMAccountName)",
            system=system,
        )
    if _USERNAME_FORBIDDEN.search(username):
        raise PolicyRefused(
            f"user name {username!r} contains a character AD forbids", system=system
        )


def new_user_attributes(
    spec: AccountSpec,
    password: Secret | None,
    *,
    upn_suffix: str,
    manager_dn: str | None,
) -> dict[str, str | bytes]:
    """The attributes of the LDAP add that creates ``spec``'s account."""
    disabled = not (spec.enabled and password is not None)  # no password: disabled
    attributes: dict[str, str | bytes] = {
        "sAMAccountName": spec.username,
        "userPrincipalName": f"{spec.username}@{upn_suffix}",
        "employeeID": spec.employee_id,
        "userAccountControl": str(NORMAL_ACCOUNT | (ACCOUNTDISABLE if disabled else 0)),
    }
    if manager_dn:
        attributes["manager"] = manager_dn
    for ours, value in spec.attributes().items():
        if value and ours in AD_NAMES:  # AD cannot hold empty strings
            attributes[AD_NAMES[ours]] = value
    if password is not None:
        # One atomic add with the password, "must change" (pwdLastSet=0: an
        # issued password is temporary, 5.17) and the enabled flag: Samba 4.17
        # and AD accept it, and a refused password leaves no half-made account.
        attributes["unicodePwd"] = password_value(password.reveal())
        attributes["pwdLastSet"] = "0"
    return attributes


def guid_dn(native_id: str, *, system: str) -> str:
    """``<GUID=...>``: AD and Samba accept it wherever a DN is expected, so an
    account is addressed by its native id whatever OU it has moved to."""
    try:
        return f"<GUID={uuid.UUID(native_id)}>"
    except ValueError:
        raise NotFound(f"{native_id!r} is not an objectGUID", system=system) from None


def guid_of(entry: LdapEntry) -> str:
    raw = entry.raw_first("objectGUID")
    if raw is None:
        raise ValueError(f"{entry.dn} was read without its objectGUID")
    # objectGUID is stored little-endian in its first three fields (MS-DTYP).
    return str(uuid.UUID(bytes_le=raw))


def password_value(password: str) -> bytes:
    """AD's unicodePwd wire format: the password in double quotes, UTF-16LE."""
    return f'"{password}"'.encode("utf-16-le")


def equality_filter(attribute: str, value: str) -> str:
    return f"({attribute}={escape_filter_chars(value)})"


def parent_dn(dn: str) -> str:
    return ",".join(to_dn(dn)[1:])


def rdn_of(dn: str) -> str:
    return str(to_dn(dn)[0])


def same_dn(left: str, right: str) -> bool:
    # Good enough for DNs the server itself produced: only case may differ.
    return left.casefold() == right.casefold()


def is_within(dn: str, container: str) -> bool:
    """Whether ``dn`` is ``container`` or somewhere below it."""
    return same_dn(dn, container) or dn.casefold().endswith("," + container.casefold())


def filetime(value: str | None) -> dt.datetime | None:
    """A FILETIME (100 ns ticks since 1601, UTC) as a datetime; None for never."""
    if value is None or int(value) in _FILETIME_NEVER:
        return None
    return _FILETIME_EPOCH + dt.timedelta(microseconds=int(value) // 10)


def account_state(entry: LdapEntry, known: Mapping[str, DnInfo]) -> AccountState:
    """The entry as an ``AccountState``; ``known`` maps case-folded DNs (of
    groups and managers) to what they stand for."""
    manager = entry.first("manager")
    manager_info = known.get(manager.casefold()) if manager else None
    attributes: dict[str, str | None] = {
        ours: entry.first(theirs) for ours, theirs in AD_NAMES.items()
    }
    attributes["manager_native_id"] = manager_info.native_id if manager_info else None
    groups = frozenset(
        known[dn.casefold()].name
        for dn in entry.values("memberOf")
        if dn.casefold() in known
    )
    uac = int(entry.first("userAccountControl") or NORMAL_ACCOUNT)
    return AccountState(
        ref=AccountRef(
            native_id=guid_of(entry), username=entry.first("sAMAccountName") or ""
        ),
        employee_id=entry.first("employeeID"),
        enabled=not uac & ACCOUNTDISABLE,
        attributes=attributes,
        groups=groups,
        location=parent_dn(entry.dn),
        last_sign_in=filetime(entry.first("lastLogonTimestamp")),
        hidden_from_address_lists=(entry.first(HIDE_ATTRIBUTE) or "").upper() == "TRUE",
    )
