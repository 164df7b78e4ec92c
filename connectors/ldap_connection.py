"""How we open ldap3 connections: TLS verified, password hidden, sockets closed.

8.24: directories are reached over TLS only, and a certificate that does not
verify is a hard failure, never a warning. ldap3's own repr of a connection
shows its password, and a failed ``open`` leaves its socket unclosed; the
helpers here fix both.
"""

from __future__ import annotations

import contextlib
import ssl
from typing import Any

import ldap3
from ldap3.core.exceptions import (
    LDAPCommunicationError,
    LDAPResponseTimeoutError,
    LDAPStartTLSError,
)

# What a broken or unreachable connection raises.
CONNECTION_ERRORS = (
    LDAPCommunicationError,
    LDAPResponseTimeoutError,
    LDAPStartTLSError,
    OSError,  # ssl.SSLError and socket errors ldap3 lets through
)


class VerifiedTls(ldap3.Tls):  # type: ignore[misc]  # ldap3 is untyped
    """ldap3's ``Tls`` with certificate *and* host name checked by ``ssl``.

    ldap3 2.9 checks host names itself with ``ssl.match_hostname``, deprecated
    since Python 3.7 and gone in 3.12. Python's own check (``check_hostname``
    with ``server_hostname``) covers DNS names and IP addresses in the SAN.
    ``create_default_context`` also refuses TLS below 1.2 (8.24).
    """

    def __init__(self, ca_file: str | None = None) -> None:
        super().__init__(validate=ssl.CERT_REQUIRED, ca_certs_file=ca_file)
        self._context = ssl.create_default_context(cafile=ca_file)

    def wrap_socket(self, connection: Any, do_handshake: bool = False) -> None:
        connection.socket = self._context.wrap_socket(
            connection.socket,
            server_hostname=connection.server.host,
            do_handshake_on_connect=do_handshake,
        )


class SafeConnection(ldap3.Connection):  # type: ignore[misc]  # ldap3 is untyped
    """An ldap3 ``Connection`` whose repr hides the password; ldap3's own
    repr shows it, and reprs end up in tracebacks and logs."""

    def __repr__(self) -> str:
        return str(self.repr_with_sensitive_data_stripped())


def close_connection(connection: Any) -> None:
    """Unbind, and close the socket ldap3 leaves open when ``open`` fails."""
    with contextlib.suppress(*CONNECTION_ERRORS):
        connection.unbind()
    leftover = getattr(connection, "socket", None)
    if leftover is not None:
        leftover.close()
        connection.socket = None
