"""The SCIM 2.0 User resource this service serves, as data (RFC 7643).

One description drives everything: ``/Schemas``, filter validation, PATCH
path resolution and ``attributes``/``excludedAttributes``. Only what the
service keeps is published (RFC 7643 §7 lets a service provider publish the
subset it supports); anything else is an unknown attribute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


@dataclass(frozen=True)
class Attribute:
    """One attribute definition (RFC 7643 §7); names match case-insensitively."""

    name: str
    type: str = "string"
    multi_valued: bool = False
    required: bool = False
    case_exact: bool = False
    mutability: str = "readWrite"
    returned: str = "default"
    uniqueness: str = "none"
    description: str = ""
    canonical_values: tuple[str, ...] = ()
    reference_types: tuple[str, ...] = ()
    sub_attributes: tuple[Attribute, ...] = ()

    @property
    def read_only(self) -> bool:
        return self.mutability == "readOnly"

    def sub(self, name: str) -> Attribute | None:
        return _find(self.sub_attributes, name)

    def to_scim(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "multiValued": self.multi_valued,
            "description": self.description,
            "required": self.required,
            "caseExact": self.case_exact,
            "mutability": self.mutability,
            "returned": self.returned,
            "uniqueness": self.uniqueness,
        }
        if self.canonical_values:
            out["canonicalValues"] = list(self.canonical_values)
        if self.reference_types:
            out["referenceTypes"] = list(self.reference_types)
        if self.sub_attributes:
            out["subAttributes"] = [a.to_scim() for a in self.sub_attributes]
        return out


@dataclass(frozen=True)
class Schema:
    id: str
    name: str
    description: str
    attributes: tuple[Attribute, ...] = field(default_factory=tuple)

    def attribute(self, name: str) -> Attribute | None:
        return _find(self.attributes, name)

    def to_scim(self, base_url: str) -> dict[str, Any]:
        return {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": [a.to_scim() for a in self.attributes],
            "meta": {
                "resourceType": "Schema",
                "location": f"{base_url}/Schemas/{self.id}",
            },
        }


def _find(attributes: tuple[Attribute, ...], name: str) -> Attribute | None:
    wanted = name.lower()
    return next((a for a in attributes if a.name.lower() == wanted), None)


_RO = "readOnly"
# Common attributes (RFC 7643 §3.1) belong to every resource and to no schema.
COMMON_ATTRIBUTES = (
    Attribute("id", case_exact=True, mutability=_RO, returned="always"),
    Attribute("externalId", case_exact=True, description="The client's own id."),
    Attribute(
        "meta",
        type="complex",
        mutability=_RO,
        sub_attributes=(
            Attribute("resourceType", case_exact=True, mutability=_RO),
            Attribute("created", type="dateTime", mutability=_RO),
            Attribute("lastModified", type="dateTime", mutability=_RO),
            Attribute("location", type="reference", mutability=_RO),
            Attribute("version", case_exact=True, mutability=_RO),
        ),
    ),
)

USER_SCHEMA = Schema(
    CORE_USER,
    "User",
    "A person HR reports on. Writes become HR events (hire, update, "
    "termination, rehire).",
    (
        Attribute(
            "userName",
            required=True,
            uniqueness="server",
            description="The sign-in name the client uses; unique, any case.",
        ),
        Attribute(
            "name",
            type="complex",
            required=True,
            description="The person's name as HR records it.",
            sub_attributes=(
                Attribute("givenName", required=True),
                Attribute("familyName", required=True),
            ),
        ),
        Attribute(
            "displayName",
            mutability=_RO,
            description="Given and family name; computed, ignored on input.",
        ),
        Attribute("title", required=True, description="Job title; drives birthright."),
        Attribute(
            "emails",
            type="complex",
            multi_valued=True,
            required=True,
            description="The person keeps one address: the primary one, else "
            "the work one, else the first.",
            sub_attributes=(
                Attribute("value", required=True),
                Attribute("type", canonical_values=("work", "home", "other")),
                Attribute("primary", type="boolean"),
            ),
        ),
        Attribute(
            "groups",
            type="complex",
            multi_valued=True,
            mutability=_RO,
            description="The entitlements the person holds (birthright and "
            "granted), read-only.",
            sub_attributes=(
                Attribute("value", mutability=_RO, description="ref, system:key"),
                Attribute("display", mutability=_RO),
                Attribute("type", mutability=_RO, canonical_values=("direct",)),
            ),
        ),
        Attribute(
            "active",
            type="boolean",
            description="false terminates the person (5.16, 5.18); true again "
            "rehires a terminated person.",
        ),
    ),
)

ENTERPRISE_SCHEMA = Schema(
    ENTERPRISE_USER,
    "EnterpriseUser",
    "Enterprise User extension: HR's key, department and manager.",
    (
        Attribute(
            "employeeNumber",
            required=True,
            case_exact=True,
            mutability="immutable",
            uniqueness="server",
            description="HR's employee id. It is also the User's id.",
        ),
        Attribute(
            "department",
            required=True,
            description="Department code; drives birthright (8.3).",
        ),
        Attribute(
            "manager",
            type="complex",
            description="The manager's User id, which is their employee number.",
            sub_attributes=(
                Attribute("value", case_exact=True),
                Attribute("$ref", type="reference", reference_types=("User",)),
            ),
        ),
    ),
)

RESOURCE_SCHEMAS = (USER_SCHEMA, ENTERPRISE_SCHEMA)


def schema_for(urn: str) -> Schema | None:
    return next((s for s in RESOURCE_SCHEMAS if s.id.lower() == urn.lower()), None)


def top_attribute(schema_urn: str | None, name: str) -> tuple[str, Attribute] | None:
    """Resolve a top-level attribute. Without a URN the common attributes and
    the core schema come first, then the extensions: ``employeeNumber`` is
    read as the enterprise one, since no core attribute has that name.
    Returns (schema id, attribute)."""
    if schema_urn is None:
        common = _find(COMMON_ATTRIBUTES, name)
        if common is not None:
            return CORE_USER, common
        for schema in RESOURCE_SCHEMAS:
            found = schema.attribute(name)
            if found is not None:
                return schema.id, found
        return None
    if schema_urn.lower() == CORE_USER.lower():
        common = _find(COMMON_ATTRIBUTES, name)
        if common is not None:
            return CORE_USER, common
    schema_found = schema_for(schema_urn)
    if schema_found is None:
        return None
    attribute = schema_found.attribute(name)
    return (schema_found.id, attribute) if attribute else None
