"""Building the SCIM connector from its connectors-file entry.

Keys under ``settings`` (see the README): ``base_url`` and ``token_env``
(the environment variable holding the bearer token; the token never sits in
the file); optional ``ca_file``, ``username_format``, ``page_size``,
``connect_timeout``, ``read_timeout``, ``delete_accounts``,
``remove_memberships_on_delete``, ``capabilities`` (a list of ``groups``,
``password``, ``delete``: declared, start-up does not ask the provider) and
``admin_roles``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from connectors.base import Connector
    from iam_service.adapters.connector_config import SystemEntry


def build_scim(entry: SystemEntry, settings: dict[str, Any]) -> Connector:
    import requests

    from connectors.base import Capability, Secret
    from connectors.scim import ScimConnector, ScimSettings
    from iam_service.adapters.connector_config import ConnectorConfigError

    values = dict(settings)
    if not isinstance(values.get("token"), Secret):
        raise ConnectorConfigError(
            f"system {entry.key!r}: give the bearer token as token_env: VARIABLE"
        )
    try:
        if values.get("capabilities") is not None:
            values["capabilities"] = frozenset(
                Capability(str(c)) for c in values["capabilities"]
            )
        if values.get("admin_roles") is not None:
            values["admin_roles"] = frozenset(str(r) for r in values["admin_roles"])
        scim = ScimSettings(system_id=entry.key, **values)
    except (TypeError, ValueError) as exc:
        raise ConnectorConfigError(f"system {entry.key!r}: {exc}") from exc
    # ``ca_file`` is passed per request by the connector, so the session can
    # keep trusting the environment for proxies.
    return ScimConnector(scim, requests.Session())
