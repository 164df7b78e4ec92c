"""Where a generated admin password waits until its recipient sees it once.

5.17: a password is never visible to others and never stored in systems in
readable form. A rotated password must nevertheless reach the successor who
takes the credential over (5.18), so it is kept sealed, shown once, and
destroyed:

* the worker generates it at execution time and hands it straight to a
  ``SecretStore`` under the rotation's reference (``rotation-<id>``); the
  operation row, its result, the logs and the audit trail never see it;
* the recipient opens a one-time link in the console, which expires after
  ``IAM_SECRET_LINK_MINUTES`` and needs a sign-in within the last
  ``IAM_SECRET_REAUTH_MINUTES`` (``services/handover.py``);
* once shown it is destroyed; the link then answers 410 Gone.

Two stores implement the same ``SecretStore`` protocol:
``DatabaseSecretStore`` (the default: AES-256-GCM with a key derived from
``IAM_SECRET_KEY``, ciphertext in ``sealed_secrets``, the reference as
associated data so a row cannot be swapped for another) and
``adapters.vault_kv.VaultKvSecretStore`` (HashiCorp Vault KV v2 through
``hvac``; our database then holds no ciphertext at all). See
``docs/decisions/0025-rotation-and-secret-handling.md``.
"""

from __future__ import annotations

import os
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from connectors.base import Secret
from iam_service.services.errors import ServiceError
from iam_service.services.secret_box import SecretBox
from iam_service.services.unit_of_work import UnitOfWorkFactory

_NONCE_BYTES = 12


class Gone(ServiceError):
    """The one-time link was used, expired or replaced (HTTP 410)."""

    status_code = 410
    code = "gone"


class ReauthenticationRequired(ServiceError):
    """The recipient must sign in again before a password is shown."""

    status_code = 401
    code = "reauthentication_required"


class SecretStoreError(Exception):
    """The store could not keep or give back a secret (it is out of reach,
    or a sealed value was altered)."""


class SecretStore(Protocol):
    """Keeps secrets under a reference until they are destroyed.

    ``put`` replaces what the reference held; ``get`` answers None for a
    reference that holds nothing (never stored, or destroyed); ``destroy``
    of an empty reference is success. Implementations raise
    ``SecretStoreError`` when the store fails."""

    def put(self, ref: str, value: Secret) -> None: ...

    def get(self, ref: str) -> Secret | None: ...

    def destroy(self, ref: str) -> None: ...


class DatabaseSecretStore:
    """The default store: AES-GCM sealed rows in ``sealed_secrets``.

    Each call is its own short transaction: the worker stores the password
    *before* it sets it on the target, so a crash in between never leaves a
    password set that nobody can learn."""

    def __init__(self, uow_factory: UnitOfWorkFactory, secret_key: str) -> None:
        self._uow_factory = uow_factory
        self._aead = AESGCM(SecretBox.derive(secret_key, "privileged-secret-store"))

    def put(self, ref: str, value: Secret) -> None:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = nonce + self._aead.encrypt(
            nonce, value.reveal().encode(), ref.encode()
        )
        with self._uow_factory() as uow:
            uow.sealed_secrets.put(ref, sealed, uow.clock.now())
            uow.commit()

    def get(self, ref: str) -> Secret | None:
        with self._uow_factory() as uow:
            sealed = uow.sealed_secrets.get(ref)
        if sealed is None:
            return None
        nonce, body = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
        try:
            return Secret(self._aead.decrypt(nonce, body, ref.encode()).decode())
        except InvalidTag:
            raise SecretStoreError(
                f"the sealed secret {ref} was altered or sealed with another key"
            ) from None

    def destroy(self, ref: str) -> None:
        with self._uow_factory() as uow:
            if uow.sealed_secrets.delete(ref):
                uow.commit()

    def refs(self) -> list[str]:
        """The references holding a secret now (for purging leftovers)."""
        with self._uow_factory() as uow:
            return uow.sealed_secrets.refs()
