"""People at the console: sessions, console roles, sign-in attempts.

A session is server-side: the browser holds a random token, the store only
its SHA-256 (like API tokens, ADR 0005). A session ends at sign-out, after
``idle`` without a request, at ``absolute`` after sign-in whatever happens,
and at once when its person is terminated (5.16 "made unusable promptly").

Console roles come from two places (ADR 0013): a department head is whoever
heads a department (``departments.head_employee_id``); the other roles are
assigned in ``console_role_assignments`` by a security officer, never to
themselves (5.3), and an auditor holds no role that changes things (5.35).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from iam_service.domain.security import Role


class SessionKind(enum.StrEnum):
    SSO = "sso"  # Entra ID, OpenID Connect
    LOCAL = "local"  # break-glass account: password + TOTP


class EndReason(enum.StrEnum):
    SIGNED_OUT = "signed_out"
    IDLE = "idle"
    ABSOLUTE = "absolute"
    TERMINATED = "terminated"  # the person left (5.16, 5.18)
    REPLACED = "replaced"  # a new sign-in in the same browser
    NO_ACCESS = "no_access"  # the account was disabled or lost its roles


# Roles that only read; 5.35 keeps the auditor independent of those that act.
ACTING_ROLES = frozenset({Role.HR, Role.SYSADMIN, Role.SECURITY_OFFICER})
ASSIGNABLE_ROLES = frozenset(
    {Role.HR, Role.SYSADMIN, Role.SECURITY_OFFICER, Role.AUDITOR}
)


@dataclass(frozen=True)
class SessionLimits:
    idle: timedelta
    absolute: timedelta


@dataclass(eq=False)
class ConsoleSession:
    """A signed-in browser. ``token_hash`` is the SHA-256 of the cookie."""

    token_hash: str
    kind: SessionKind
    subject: str  # employee id (SSO) or local user name
    display_name: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime  # the absolute limit
    employee_id: str | None = None
    local_username: str | None = None
    active_role: str | None = None
    client_address: str = ""
    user_agent: str = ""
    ended_at: datetime | None = None
    end_reason: str | None = None
    id: int | None = None

    def expiry(self, now: datetime, limits: SessionLimits) -> EndReason | None:
        """Why this session is over at ``now``, or None while it is live."""
        if now >= self.expires_at:
            return EndReason.ABSOLUTE
        if now - self.last_seen_at >= limits.idle:
            return EndReason.IDLE
        return None

    def end(self, now: datetime, reason: EndReason) -> None:
        if self.ended_at is None:
            self.ended_at, self.end_reason = now, reason.value


@dataclass(eq=False)
class RoleAssignment:
    """A console role held by a person until it is revoked."""

    employee_id: str
    role: Role
    granted_by: str  # the actor
    granted_at: datetime
    reason: str = ""
    granted_by_employee_id: str | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    revoke_reason: str = ""
    id: int | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(eq=False)
class SignInAttempt:
    """One try at the sign-in form; failures feed throttling and lockout."""

    at: datetime
    client_address: str
    account: str  # the user name typed, or "sso:<oid>"
    succeeded: bool
    reason: str = ""
    id: int | None = None


@dataclass(eq=False)
class SignInFlow:
    """A sign-in under way between two requests: an OpenID Connect auth code
    flow (state, nonce, PKCE verifier) or a TOTP enrolment. ``data`` is
    encrypted with the service's secret key; the browser holds a random
    token whose SHA-256 is ``token_hash``."""

    token_hash: str
    kind: str  # "sso" | "totp_enrolment"
    data_encrypted: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    id: int | None = None

    def usable(self, now: datetime) -> bool:
        return self.used_at is None and now < self.expires_at


def roles_conflict(held: frozenset[Role], new: Role) -> str | None:
    """Why ``new`` may not join ``held`` (5.35), or None."""
    if new is Role.AUDITOR and held & ACTING_ROLES:
        return "an auditor holds no role that changes things (5.35)"
    if new in ACTING_ROLES and Role.AUDITOR in held:
        return "this person is an auditor, who changes nothing (5.35)"
    return None


class OidcError(Exception):
    """The identity provider refused the sign-in, or its answer does not
    check (state, nonce, PKCE, signature, issuer, audience, tenant)."""
