"""argon2 hashes through passlib for the secrets we keep only to compare:
local administrator passwords and password history (5.17: never readable).

Only argon2: passlib 1.7.4's bcrypt backend breaks with bcrypt 5, and
passlib imports the standard ``crypt`` module, which warns that it is
deprecated (Python 3.11, removed in 3.13), and reads ``argon2.__version__``,
which argon2-cffi 25 deprecates. Both warnings are silenced here, once, at
import, so production logs are not spammed; the tests, which turn warnings
into errors, filter the same two in ``pyproject.toml``. Import passlib only
through this module.
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore", message="'crypt' is deprecated", category=DeprecationWarning
    )
    warnings.filterwarnings(
        "ignore", message="Accessing argon2.__version__", category=DeprecationWarning
    )
    from passlib.context import CryptContext
    from passlib.hash import argon2

    argon2.get_backend()  # loads (and version-checks) argon2-cffi now

_CONTEXT = CryptContext(schemes=["argon2"], deprecated="auto")


def hash_secret(value: str) -> str:
    """A salted argon2id hash of ``value`` (passlib's default parameters)."""
    return str(_CONTEXT.hash(value))


def verify_secret(value: str, hashed: str) -> bool:
    """Whether ``value`` matches ``hashed``; False for a malformed hash."""
    try:
        return bool(_CONTEXT.verify(value, hashed))
    except (ValueError, TypeError):
        return False
