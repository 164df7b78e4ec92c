"""Administrator roles as a SCIM provider exposes them, for the privileged
inventory (8.2).

SCIM has no standard for admin rights. Providers that expose them do so in
the User's multi-valued ``roles`` or ``entitlements`` attribute (RFC 7643
§4.1.2), with values such as ``admin`` or ``owner``. A provider whose User
schema has neither exposes none: ``admin_roles`` then returns an empty list
and logs that it cannot tell.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from connectors.base import AccountRef
from connectors.scim_directory import ScimDirectory
from connectors.scim_discovery import as_bool

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScimAdminRole:
    """One administrator role an account holds on the provider.

    ``source`` is the attribute it came from (``roles`` or ``entitlements``);
    ``value`` is the provider's own name for it.
    """

    system_id: str
    account: AccountRef
    source: str
    value: str
    display: str | None
    type: str | None
    primary: bool
    account_enabled: bool


def admin_roles(
    directory: ScimDirectory, admin_values: frozenset[str]
) -> list[ScimAdminRole]:
    """Every role or entitlement whose value, display or type is one of
    ``admin_values`` (compared without case), on every user."""
    capabilities = directory.discover()
    sources = [
        name
        for name, present in (
            ("roles", capabilities.roles),
            ("entitlements", capabilities.entitlements),
        )
        if present
    ]
    if not sources:
        log.info(
            "%s: the provider's User schema has no roles or entitlements; "
            "it exposes no admin roles over SCIM",
            directory.system,
        )
        return []
    wanted = {value.casefold() for value in admin_values}
    attributes = ",".join(["userName", "active", *sources])
    found: list[ScimAdminRole] = []
    for user in directory.pages(
        capabilities.users_endpoint, {"attributes": attributes}
    ):
        found.extend(_roles_of(directory, user, sources, wanted))
    return found


def _roles_of(
    directory: ScimDirectory,
    user: Mapping[str, Any],
    sources: list[str],
    wanted: set[str],
) -> Iterator[ScimAdminRole]:
    settings = directory.settings
    ref = AccountRef(
        str(user.get("id")), settings.our_user_name(str(user.get("userName", "")))
    )
    for source in sources:
        for entry in user.get(source) or []:
            if not isinstance(entry, Mapping):
                continue
            names = {
                str(entry.get(k) or "").casefold() for k in ("value", "display", "type")
            }
            if not names & wanted:
                continue
            yield ScimAdminRole(
                system_id=directory.system,
                account=ref,
                source=source,
                value=str(entry.get("value") or entry.get("display") or ""),
                display=str(entry["display"]) if entry.get("display") else None,
                type=str(entry["type"]) if entry.get("type") else None,
                primary=as_bool(entry.get("primary", False)),
                account_enabled=as_bool(user.get("active", True)),
            )
