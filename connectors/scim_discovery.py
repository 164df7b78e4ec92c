"""What a SCIM service provider says it supports (RFC 7644 §4, RFC 7643 §5-7).

``discover`` reads ``/ServiceProviderConfig``, ``/ResourceTypes`` and
``/Schemas`` once; the connector keeps the result. Providers that lack one of
the discovery endpoints (some SaaS serve only the first) get RFC defaults:
Users at ``/Users``, Groups at ``/Groups``, no enterprise extension, and no
optional feature the configuration did not announce.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from connectors.base import Capability, NotFound, NotSupported
from connectors.scim_http import ScimHttp

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def as_bool(value: Any) -> bool:
    """A SCIM boolean, tolerating vendors that send "true"/"False"/1."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class ScimCapabilities:
    """The provider's answers to discovery, typed.

    ``max_results`` caps a page (filter.maxResults); ``user_attributes`` are
    the core User attribute names its schema declares (``roles``,
    ``entitlements``, ``groups``, ...), lower-cased.
    """

    patch: bool = False
    filter: bool = False
    max_results: int | None = None
    etag: bool = False
    bulk: bool = False
    change_password: bool = False
    sort: bool = False
    users_endpoint: str = "/Users"
    groups_endpoint: str | None = "/Groups"
    enterprise_user: bool = False
    user_attributes: frozenset[str] = frozenset()

    @property
    def groups(self) -> bool:
        return self.groups_endpoint is not None

    @property
    def roles(self) -> bool:
        return "roles" in self.user_attributes

    @property
    def entitlements(self) -> bool:
        return "entitlements" in self.user_attributes

    def connector_capabilities(self, *, delete: bool) -> frozenset[Capability]:
        """The connector's optional operations that follow from discovery."""
        found = set()
        if self.groups:
            found.add(Capability.GROUPS)
        if self.change_password:
            found.add(Capability.PASSWORD)
        if delete:
            found.add(Capability.DELETE)
        return frozenset(found)

    def page_size(self, wanted: int) -> int:
        return min(wanted, self.max_results) if self.max_results else wanted


def discover(http: ScimHttp) -> ScimCapabilities:
    """Ask the provider; raises the connector errors of ``ScimHttp``."""
    config = _optional(http, "/ServiceProviderConfig") or {}
    types = _resources(_optional(http, "/ResourceTypes"))
    schemas = _resources(_optional(http, "/Schemas"))
    user_type = _type_for(types, CORE_USER)
    users_endpoint = _endpoint(user_type, "/Users")
    group_type = _type_for(types, CORE_GROUP)
    if types:
        groups_endpoint = _endpoint(group_type, "/Groups") if group_type else None
    else:
        groups_endpoint = "/Groups"
    extensions = {
        str(e.get("schema"))
        for e in (user_type or {}).get("schemaExtensions") or []
        if isinstance(e, Mapping)
    }
    schema_ids = {str(s.get("id")) for s in schemas}
    enterprise = ENTERPRISE_USER in extensions or (
        not user_type and ENTERPRISE_USER in schema_ids
    )
    filter_config = _section(config, "filter")
    return ScimCapabilities(
        patch=as_bool(_section(config, "patch").get("supported")),
        filter=as_bool(filter_config.get("supported")),
        max_results=as_int(filter_config.get("maxResults")),
        etag=as_bool(_section(config, "etag").get("supported")),
        bulk=as_bool(_section(config, "bulk").get("supported")),
        change_password=as_bool(_section(config, "changePassword").get("supported")),
        sort=as_bool(_section(config, "sort").get("supported")),
        users_endpoint=users_endpoint or "/Users",
        groups_endpoint=groups_endpoint,
        enterprise_user=enterprise,
        user_attributes=_attribute_names(schemas, CORE_USER),
    )


def _optional(http: ScimHttp, path: str) -> dict[str, Any] | None:
    """A discovery document, or None where the provider has no such endpoint."""
    try:
        return http.request("GET", path).body
    except (NotFound, NotSupported):
        return None


def _resources(document: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    if not document:
        return []
    found = document.get("Resources")
    if found is None and document.get("id"):  # a single resource, not a list
        found = [document]
    return [r for r in found or [] if isinstance(r, Mapping)]


def _section(config: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    section = config.get(name)
    return section if isinstance(section, Mapping) else {}


def _type_for(
    types: Iterable[Mapping[str, Any]], schema: str
) -> Mapping[str, Any] | None:
    for resource_type in types:
        if resource_type.get("schema") == schema:
            return resource_type
    return None


def _endpoint(
    resource_type: Mapping[str, Any] | None, default: str | None
) -> str | None:
    if not resource_type or not resource_type.get("endpoint"):
        return default
    return "/" + str(resource_type["endpoint"]).strip("/")


def _attribute_names(
    schemas: Iterable[Mapping[str, Any]], schema: str
) -> frozenset[str]:
    for found in schemas:
        if found.get("id") == schema:
            return frozenset(
                str(a.get("name", "")).lower()
                for a in found.get("attributes") or []
                if isinstance(a, Mapping)
            )
    return frozenset()
