"""Building the Entra ID connector from its connectors-file entry.

Keys under ``settings`` (see the README): ``tenant_id``, ``client_id``,
``domain``, and either ``client_secret_env`` or ``certificate_key_file`` +
``certificate_thumbprint`` (+ optional ``certificate_file``); optional
``authority_host``, ``graph_url``, ``scope``, ``usage_location``,
``read_sign_in_activity``, ``page_size``, ``connect_timeout``,
``read_timeout``, ``max_inline_wait``, ``ca_file`` and ``proxy``.

Connectors are built per worker thread; they share one msal token cache per
system, so a process asks Entra for a token once, not once per thread.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from connectors.base import Connector
    from iam_service.adapters.connector_config import SystemEntry

_token_caches: dict[str, Any] = {}
_caches_lock = threading.Lock()


def build_entra(entry: SystemEntry, settings: dict[str, Any]) -> Connector:
    import requests

    from connectors.entra import EntraCertificate, EntraConnector, EntraSettings
    from connectors.graph_auth import new_token_cache

    values = dict(settings)
    ca_file, proxy = values.pop("ca_file", None), values.pop("proxy", None)
    certificate = {
        name: values.pop(f"certificate_{name}", None)
        for name in ("key_file", "thumbprint", "file")
    }
    if certificate["key_file"] or certificate["thumbprint"]:
        values["certificate"] = EntraCertificate(
            str(certificate["key_file"]),
            str(certificate["thumbprint"]),
            str(certificate["file"]) if certificate["file"] else None,
        )
    try:
        entra = EntraSettings(system_id=entry.key, **values)
    except (TypeError, ValueError) as exc:
        from iam_service.adapters.connector_config import ConnectorConfigError

        raise ConnectorConfigError(f"system {entry.key!r}: {exc}") from exc
    session = requests.Session()
    if ca_file:
        session.verify = str(ca_file)
        # Otherwise REQUESTS_CA_BUNDLE from the environment overrides verify.
        session.trust_env = False
    if proxy:
        session.proxies = {"https": str(proxy)}
    with _caches_lock:
        cache = _token_caches.setdefault(entry.key, new_token_cache())
    return EntraConnector(entra, session, token_cache=cache)
