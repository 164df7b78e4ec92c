"""Settings for the SCIM 2.0 client connector (``connectors.scim``).

The composition root builds ``ScimSettings`` from the connectors file; tests
build them for a tenant of the scim2-server test server. Nothing here
connects.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from connectors.base import Capability, Secret

LOOPBACK_NAMES = frozenset({"localhost"})
# Role or entitlement values that mean "administrator" in the SaaS we know
# (Slack "owner"/"admin", GitHub "enterprise_owner", Zoom "Admin", ...).
DEFAULT_ADMIN_ROLES = frozenset(
    {"admin", "administrator", "owner", "org_admin", "enterprise_owner", "superuser"}
)
SCIM_CAPABILITIES = frozenset(
    {Capability.GROUPS, Capability.PASSWORD, Capability.DELETE}
)


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` names this machine (no network in between)."""
    if not host:
        return False
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ScimSettings:
    """Where a SCIM 2.0 service provider is and how to use it.

    ``base_url`` is the SCIM root (``https://api.example.test/scim/v2``).
    ``username_format`` turns our user name into the provider's ``userName``
    (``"{username}@example.test"`` for SaaS that sign in by e-mail).
    ``delete_accounts``: False for systems where we only deactivate; DELETE is
    then not offered. ``capabilities``: declare what the provider can do, so
    that start-up does not depend on reaching it; None discovers it.
    ``ca_file``: the CA to verify the provider with (per request, so that
    ``REQUESTS_CA_BUNDLE`` cannot override it); None uses the session's.
    ``admin_roles``: role/entitlement values ``list_admin_roles`` reports.
    """

    system_id: str
    base_url: str
    token: Secret
    ca_file: str | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    page_size: int = 100
    username_format: str = "{username}"
    delete_accounts: bool = True
    remove_memberships_on_delete: bool = True
    capabilities: frozenset[Capability] | None = None
    admin_roles: frozenset[str] = DEFAULT_ADMIN_ROLES

    def __post_init__(self) -> None:
        url = urlsplit(self.base_url)
        # 8.24: TLS for anything sent over a network. Plain http only to this
        # machine (the test server, a local sidecar), where no network is crossed.
        if url.scheme != "https" and not (
            url.scheme == "http" and is_loopback(url.hostname)
        ):
            raise ValueError(
                f"{self.base_url!r}: use https:// (plain http only on loopback)"
            )
        if self.username_format.count("{username}") != 1:
            raise ValueError("username_format must contain {username} exactly once")
        if self.page_size < 1:
            raise ValueError("page_size must be positive")
        if self.connect_timeout <= 0 or self.read_timeout <= 0:
            raise ValueError("timeouts must be positive")
        if self.capabilities is not None and not self.capabilities <= SCIM_CAPABILITIES:
            extra = sorted(c.value for c in self.capabilities - SCIM_CAPABILITIES)
            raise ValueError(f"SCIM cannot offer {', '.join(extra)}")

    @property
    def assumed_capabilities(self) -> frozenset[Capability]:
        """Every capability SCIM can offer under these settings."""
        if self.delete_accounts:
            return SCIM_CAPABILITIES
        return SCIM_CAPABILITIES - {Capability.DELETE}

    @property
    def root(self) -> str:
        return self.base_url.rstrip("/")

    def scim_user_name(self, username: str) -> str:
        """Our user name as the provider's ``userName``."""
        return self.username_format.replace("{username}", username)

    def our_user_name(self, scim_user_name: str) -> str:
        """The provider's ``userName`` back as ours (compared without case);
        a name that does not fit the format is returned as it is."""
        prefix, _, suffix = self.username_format.partition("{username}")
        folded = scim_user_name.casefold()
        if (
            len(scim_user_name) > len(prefix) + len(suffix)
            and folded.startswith(prefix.casefold())
            and folded.endswith(suffix.casefold())
        ):
            return scim_user_name[len(prefix) : len(scim_user_name) - len(suffix)]
        return scim_user_name
