"""What tests and the demo put into the Samba DC: OUs, groups, and cleanup.

Plain ldap3, independent of the connector under test, so integration tests
can check the connector's work with their own eyes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ldap3
from ldap3.core.exceptions import LDAPException
from ldap3.utils.dn import escape_rdn

from connectors.ldap_connection import SafeConnection, VerifiedTls, close_connection

if TYPE_CHECKING:
    from tools.samba_dc import DomainController

READY = "ready"
NOT_LISTENING = "not listening"
TREE_DELETE = ("1.2.840.113556.1.4.805", True, None)


@dataclass(frozen=True)
class Layout:
    """The OUs of one tree (the demo's domain, or a test's sandbox)."""

    root: str
    people: str
    groups: str
    leavers: str
    group_dns: dict[str, str]


def connect(url: str, user: str, password: str, ca_file: str) -> Any:
    """A bound ldap3 connection over LDAPS verified against ``ca_file``.

    Raises ``LDAPException`` subclasses when it cannot connect or bind.
    """
    host_port = url.removeprefix("ldaps://")
    host, _, port = host_port.partition(":")
    server = ldap3.Server(
        host,
        port=int(port or 636),
        use_ssl=True,
        tls=VerifiedTls(ca_file),
        get_info=ldap3.NONE,
        connect_timeout=5,
    )
    connection = SafeConnection(
        server, user=user, password=password, raise_exceptions=True, receive_timeout=30
    )
    try:
        connection.open(read_server_info=False)
        connection.bind(read_server_info=False)
    except BaseException:
        close_connection(connection)
        raise
    return connection


def admin_connection(dc: DomainController) -> Any:
    """A connection bound as the domain's Administrator; unbind it when done."""
    return connect(dc.url, dc.admin_user, dc.admin_password, str(dc.ca_file))


def probe(url: str, user: str, password: str, ca_file: str) -> str:
    """``READY`` if an LDAPS bind works, ``NOT_LISTENING`` if nothing listens,
    otherwise what went wrong."""
    try:
        connect(url, user, password, ca_file).unbind()
    except LDAPException as exc:
        text = str(exc)
        return (
            NOT_LISTENING
            if "refused" in text.lower()
            else f"{type(exc).__name__}: {text}"
        )
    return READY


def ensure_ous(connection: Any, parent_dn: str, names: Iterable[str]) -> dict[str, str]:
    """Create ``OU=<name>,<parent_dn>`` for each name unless it exists."""
    dns = {name: f"OU={escape_rdn(name)},{parent_dn}" for name in names}
    for dn in dns.values():
        _add_unless_exists(connection, dn, ["organizationalUnit"], {})
    return dns


def ensure_groups(
    connection: Any, container_dn: str, names: Iterable[str]
) -> dict[str, str]:
    """Create global security groups (sAMAccountName = name) unless they exist."""
    dns = {name: f"CN={escape_rdn(name)},{container_dn}" for name in names}
    for name, dn in dns.items():
        _add_unless_exists(connection, dn, ["group"], {"sAMAccountName": name})
    return dns


def ensure_layout(connection: Any, root_dn: str, groups: Iterable[str] = ()) -> Layout:
    """People, Groups and Leavers OUs under ``root_dn`` (created first if it
    is an OU of its own), with ``groups`` in Groups."""
    if root_dn.upper().startswith("OU="):
        _add_unless_exists(connection, root_dn, ["organizationalUnit"], {})
    ous = ensure_ous(connection, root_dn, ("People", "Groups", "Leavers"))
    group_dns = ensure_groups(connection, ous["Groups"], groups)
    return Layout(root_dn, ous["People"], ous["Groups"], ous["Leavers"], group_dns)


def delete_tree(connection: Any, dn: str) -> None:
    """Delete ``dn`` and everything below it; already gone is fine."""
    try:
        connection.delete(dn, controls=[TREE_DELETE])
    except ldap3.core.exceptions.LDAPNoSuchObjectResult:
        return


def _add_unless_exists(
    connection: Any, dn: str, object_class: list[str], attributes: dict[str, str]
) -> None:
    try:
        connection.add(dn, object_class, attributes)
    except ldap3.core.exceptions.LDAPEntryAlreadyExistsResult:
        return
