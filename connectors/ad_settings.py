"""Settings for the Active Directory connector, and its production connection.

The composition root builds ``ADSettings`` from the service's configuration;
tests build them for a sandbox OU on the Samba DC. Nothing here connects
until the factory is called.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import ldap3

from connectors.base import Secret
from connectors.ldap_connection import SafeConnection, VerifiedTls


@dataclass(frozen=True)
class ADSettings:
    """Where the directory is and where our accounts live in it.

    ``groups_ou`` limits where group names are looked up (the whole
    ``base_dn`` when None). ``page_size`` is the server's page limit (AD's
    MaxPageSize, 1000 by default); larger requests are capped to it.
    """

    system_id: str
    url: str
    bind_user: str
    bind_password: Secret
    base_dn: str
    users_ou: str
    leavers_ou: str
    upn_suffix: str
    groups_ou: str | None = None
    ca_file: str | None = None
    start_tls: bool = False
    connect_timeout: float = 5.0
    operation_timeout: int = 30  # whole seconds: ldap3 packs it into SO_RCVTIMEO
    page_size: int = 1000

    def __post_init__(self) -> None:
        scheme = urlsplit(self.url).scheme
        # 8.24: TLS for anything on the network; plain ldap:// only with StartTLS.
        if scheme not in ("ldaps", "ldap") or (scheme == "ldap" and not self.start_tls):
            raise ValueError(
                f"{self.url!r}: use ldaps://, or ldap:// with start_tls=True"
            )
        if self.page_size < 1:
            raise ValueError("page_size must be positive")


def ldap_connection_factory(settings: ADSettings) -> Callable[[], Any]:
    """The production factory: an unopened ldap3 connection per call."""
    url = urlsplit(settings.url)
    use_ssl = url.scheme == "ldaps"

    def connect() -> Any:
        # A new Server each time: ldap3 remembers an address that failed and
        # refuses it for a while, which would delay reconnecting after an outage.
        server = ldap3.Server(
            url.hostname or "localhost",
            port=url.port or (636 if use_ssl else 389),
            use_ssl=use_ssl,
            tls=VerifiedTls(settings.ca_file),
            get_info=ldap3.NONE,
            connect_timeout=settings.connect_timeout,
        )
        return SafeConnection(
            server,
            user=settings.bind_user,
            password=settings.bind_password.reveal(),
            raise_exceptions=False,
            receive_timeout=settings.operation_timeout,
            auto_referrals=False,
        )

    return connect
