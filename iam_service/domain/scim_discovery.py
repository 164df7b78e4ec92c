"""What ``/ServiceProviderConfig``, ``/ResourceTypes`` and ``/Schemas`` say
about this service (RFC 7644 §4, RFC 7643 §5-7)."""

from __future__ import annotations

from typing import Any

from iam_service.domain.scim_schema import (
    CORE_USER,
    ENTERPRISE_USER,
    RESOURCE_SCHEMAS,
    Attribute,
    Schema,
)

SPC_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
MAX_RESULTS = 200
DEFAULT_COUNT = 100

_RO = "readOnly"


def _ro(name: str, type_: str = "string", **more: Any) -> Attribute:
    return Attribute(name, type=type_, mutability=_RO, **more)


def _supported(name: str, *extra: Attribute) -> Attribute:
    return _ro(
        name,
        "complex",
        required=True,
        sub_attributes=(_ro("supported", "boolean", required=True), *extra),
    )


_ATTRIBUTE_FIELDS = (
    _ro("name", required=True, case_exact=True),
    _ro("type", required=True, canonical_values=("string", "complex", "boolean")),
    _ro("multiValued", "boolean", required=True),
    _ro("description"),
    _ro("required", "boolean"),
    _ro("canonicalValues", multi_valued=True, case_exact=True),
    _ro("caseExact", "boolean"),
    _ro("mutability", case_exact=True),
    _ro("returned", case_exact=True),
    _ro("uniqueness", case_exact=True),
    _ro("referenceTypes", multi_valued=True, case_exact=True),
)

META_SCHEMAS = (
    Schema(
        SPC_SCHEMA,
        "ServiceProviderConfig",
        "Schema for representing the service provider's configuration",
        (
            _ro("documentationUri", "reference", reference_types=("external",)),
            _supported("patch"),
            _supported(
                "bulk",
                _ro("maxOperations", "integer", required=True),
                _ro("maxPayloadSize", "integer", required=True),
            ),
            _supported("filter", _ro("maxResults", "integer", required=True)),
            _supported("changePassword"),
            _supported("sort"),
            _supported("etag"),
            _ro(
                "authenticationSchemes",
                "complex",
                multi_valued=True,
                required=True,
                sub_attributes=(
                    _ro("type", required=True),
                    _ro("name", required=True),
                    _ro("description", required=True),
                    _ro("specUri", "reference", reference_types=("external",)),
                    _ro("documentationUri", "reference", reference_types=("external",)),
                    _ro("primary", "boolean"),
                ),
            ),
        ),
    ),
    Schema(
        RESOURCE_TYPE_SCHEMA,
        "ResourceType",
        "Specifies the schema that describes a SCIM resource type",
        (
            _ro("id", case_exact=True),
            _ro("name", required=True),
            _ro("description"),
            _ro("endpoint", "reference", required=True, reference_types=("uri",)),
            _ro(
                "schema",
                "reference",
                required=True,
                case_exact=True,
                reference_types=("uri",),
            ),
            _ro(
                "schemaExtensions",
                "complex",
                multi_valued=True,
                sub_attributes=(
                    _ro(
                        "schema",
                        "reference",
                        required=True,
                        case_exact=True,
                        reference_types=("uri",),
                    ),
                    _ro("required", "boolean", required=True),
                ),
            ),
        ),
    ),
    Schema(
        SCHEMA_SCHEMA,
        "Schema",
        "Specifies the schema attributes",
        (
            _ro("id", required=True, case_exact=True),
            _ro("name"),
            _ro("description"),
            _ro(
                "attributes",
                "complex",
                multi_valued=True,
                required=True,
                sub_attributes=(
                    *_ATTRIBUTE_FIELDS,
                    _ro(
                        "subAttributes",
                        "complex",
                        multi_valued=True,
                        sub_attributes=_ATTRIBUTE_FIELDS,
                    ),
                ),
            ),
        ),
    ),
)

ALL_SCHEMAS = (*RESOURCE_SCHEMAS, *META_SCHEMAS)


def service_provider_config(base_url: str) -> dict[str, Any]:
    return {
        "schemas": [SPC_SCHEMA],
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": False},
        "sort": {"supported": False},
        "etag": {"supported": True},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "Bearer token",
                "description": "An API token with the hr role "
                "(iamctl token create --role hr).",
                "specUri": "https://www.rfc-editor.org/info/rfc6750",
                "primary": True,
            }
        ],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": f"{base_url}/ServiceProviderConfig",
        },
    }


def user_resource_type(base_url: str) -> dict[str, Any]:
    return {
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "People HR reports on",
        "schema": CORE_USER,
        "schemaExtensions": [{"schema": ENTERPRISE_USER, "required": True}],
        "meta": {
            "resourceType": "ResourceType",
            "location": f"{base_url}/ResourceTypes/User",
        },
    }


def schema_by_id(schema_id: str) -> Schema | None:
    return next((s for s in ALL_SCHEMAS if s.id.lower() == schema_id.lower()), None)


def list_response(resources: list[dict[str, Any]]) -> dict[str, Any]:
    """A complete (unpaged) ListResponse."""
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": len(resources),
        "itemsPerPage": len(resources),
        "startIndex": 1,
        "Resources": resources,
    }
