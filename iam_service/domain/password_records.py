"""What the service keeps about passwords: never a password in clear (5.17).

``PasswordHistoryEntry``: an argon2 hash of a password a person had on a
system, to refuse the last N again. ``PasswordChangeAttempt``: a
self-service try, for throttling; it records who and whether, never what
was typed. A new password on its way to the worker waits sealed in the
secret store (``services/secret_vault.py``), never here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(eq=False)
class PasswordHistoryEntry:
    person_id: int
    system_key: str
    password_hash: str  # argon2 (adapters/password_hashing.py)
    created_at: datetime
    id: int | None = None


@dataclass(eq=False)
class PasswordChangeAttempt:
    at: datetime
    account: str  # "system:username"
    client_address: str
    succeeded: bool
    reason: str = ""  # "current_password", "rules", "throttled", ...
    id: int | None = None
