"""A ``SecretStore`` on HashiCorp Vault's KV version 2 engine, through hvac.

Chosen with ``IAM_SECRET_STORE=vault``. Each secret is one KV path,
``<IAM_VAULT_PATH>/<ref>`` on the mount ``IAM_VAULT_MOUNT``, holding
``{"value": ...}``; destroying it deletes the metadata and every version
(``DELETE /v1/<mount>/metadata/<path>``), so nothing can be undeleted. Vault
must be reached over HTTPS (8.24; plain HTTP only on loopback, for tests);
the token comes from ``IAM_VAULT_TOKEN`` and needs create, read and delete
on that path only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import hvac
import requests
from hvac import exceptions as vault_errors

from connectors.base import Secret

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class VaultError(Exception):
    """Vault refused or could not be reached."""


@dataclass(frozen=True)
class VaultSettings:
    url: str
    token: Secret
    mount: str = "secret"
    path: str = "iam/rotations"
    ca_file: str | None = None
    namespace: str | None = None
    timeout: float = 10.0

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme != "https" and not (
            parts.scheme == "http" and parts.hostname in _LOOPBACK
        ):
            raise ValueError(f"{self.url!r}: Vault must be reached over https (8.24)")


class VaultKvSecretStore:
    """``SecretStore`` (``services/secret_vault.py``) on Vault KV v2."""

    def __init__(
        self, settings: VaultSettings, session: requests.Session | None = None
    ) -> None:
        self._settings = settings
        self._client = hvac.Client(
            url=settings.url,
            token=settings.token.reveal(),
            namespace=settings.namespace,
            verify=settings.ca_file or True,
            timeout=settings.timeout,
            session=session,
        )

    def put(self, ref: str, value: Secret) -> None:
        self._call(
            lambda kv: kv.create_or_update_secret(
                path=self._path(ref),
                secret={"value": value.reveal()},
                mount_point=self._settings.mount,
            )
        )

    def get(self, ref: str) -> Secret | None:
        try:
            answer = self._call(
                lambda kv: kv.read_secret_version(
                    path=self._path(ref),
                    mount_point=self._settings.mount,
                    raise_on_deleted_version=True,
                )
            )
        except _Missing:
            return None
        value = ((answer or {}).get("data") or {}).get("data", {}).get("value")
        return Secret(str(value)) if value is not None else None

    def destroy(self, ref: str) -> None:
        try:
            self._call(
                lambda kv: kv.delete_metadata_and_all_versions(
                    path=self._path(ref), mount_point=self._settings.mount
                )
            )
        except _Missing:
            return

    def close(self) -> None:
        self._client.adapter.close()

    def _path(self, ref: str) -> str:
        return f"{self._settings.path.strip('/')}/{ref}"

    def _call(self, request: Any) -> Any:
        try:
            return request(self._client.secrets.kv.v2)
        except vault_errors.InvalidPath:
            raise _Missing from None
        except vault_errors.VaultError as error:
            # hvac's message is Vault's "errors" list: no secret in it.
            raise VaultError(f"Vault refused: {type(error).__name__}") from None
        except requests.RequestException as error:
            raise VaultError(f"Vault unreachable: {type(error).__name__}") from None


class _Missing(Exception):
    """Vault answered 404: nothing at that path."""
