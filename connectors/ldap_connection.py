"""TLS for LDAP connections: the certificate and the host name always checked.

8.24: directories are reached over TLS only, and a certificate that does not
verify is a hard failure, never a warning.
"""

from __future__ import annotations

import ssl
from typing import Any

import ldap3


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
