"""Who may call the service: API tokens and local administrators, by role."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class Role(enum.StrEnum):
    """The roles of the regulation (see shared/seed/README.md)."""

    HR = "hr"
    DEPARTMENT_HEAD = "department_head"
    SYSADMIN = "sysadmin"
    SECURITY_OFFICER = "security_officer"
    AUDITOR = "auditor"  # 5.35: reads, never changes


@dataclass(eq=False)
class ApiToken:
    """A machine credential. Only the SHA-256 of the token is kept."""

    name: str
    role: Role
    prefix: str  # shown in listings so a token can be recognised
    token_hash: str
    created_at: datetime
    created_by: str = "system"
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None
    # The person the token acts for, so that 5.3 checks (nobody approves
    # their own request) can compare people; None for a machine.
    employee_id: str | None = None
    id: int | None = None

    def usable(self, now: datetime) -> bool:
        return self.revoked_at is None and (
            self.expires_at is None or self.expires_at > now
        )


@dataclass(eq=False)
class LocalUser:
    """A local (break-glass) administrator; ``password_hash`` is argon2."""

    username: str
    password_hash: str
    roles: list[str]
    created_at: datetime
    employee_id: str | None = None
    disabled: bool = False
    failed_logins: int = 0
    locked_until: datetime | None = None
    totp_secret_encrypted: str | None = None
    # The last TOTP time step accepted: a code is never accepted twice.
    totp_last_step: int | None = None
    id: int | None = None
