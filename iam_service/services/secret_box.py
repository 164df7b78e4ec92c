"""Encryption of the few secrets the service must read back (TOTP seeds,
sign-in flows under way) with a key derived from ``IAM_SECRET_KEY``.

Fernet (AES-128-CBC + HMAC-SHA256) from ``cryptography``; the key is the
HKDF of the service secret with a purpose label, so a key for one purpose
opens nothing else. A changed ``IAM_SECRET_KEY`` makes old values unreadable:
TOTP enrolments must then be redone (``iamctl user totp-reset``).
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class SecretUnreadable(Exception):
    """The value was not sealed with this service's key, or was altered."""


class SecretBox:
    def __init__(self, secret_key: str, purpose: str) -> None:
        derived = self.derive(secret_key, purpose)
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    @staticmethod
    def derive(secret_key: str, purpose: str) -> bytes:
        """A 256-bit key for one purpose, from the service secret (HKDF)."""
        return HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=b"iam-lifecycle",
            info=purpose.encode(),
        ).derive(secret_key.encode())

    def seal(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except (InvalidToken, ValueError):
            raise SecretUnreadable("the sealed value cannot be opened") from None
