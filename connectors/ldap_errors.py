"""LDAP results and ldap3 exceptions, translated into the connector error tree.

An LDAP server answers every request with a result code and a diagnostic
message; Active Directory puts a Win32 error code at the front of that message
(``0000052D: Constraint violation - ...``) and, for failed binds, a
``data NNN`` sub-code. This module turns both into the errors of
``connectors.base`` with messages a human can act on. It never sees a
password: callers pass results and exceptions, not requests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from connectors.base import (
    ConnectorError,
    NotFound,
    PermanentError,
    PolicyRefused,
    RetryableError,
)

# The server is overloaded or a limit ran out; the same request may work later.
RETRYABLE_RESULTS = frozenset({"busy", "unavailable", "timeLimitExceeded"})

# ERROR_PASSWORD_RESTRICTION: AD's code for "the password policy refused it".
PASSWORD_RESTRICTION = "0000052D"  # noqa: S105 - an error code, not a secret

# The ``data NNN`` sub-codes AD (and Samba) put in a failed bind's message.
BIND_REASONS = {
    "525": "no such user",
    "52e": "wrong password",
    "530": "not permitted to sign in at this time",
    "531": "not permitted to sign in from this workstation",
    "532": "password expired",
    "533": "account disabled",
    "701": "account expired",
    "773": "the password must be changed at next sign-in",
    "775": "account locked out",
}

_WIN32_PREFIX = re.compile(r"^[0-9A-Fa-f]{8}: ")
_BIND_DATA = re.compile(r"\bdata ([0-9a-fA-F]{3,8})\b")
_CERTIFICATE_FAILURE = re.compile(
    r"certificate verify failed|hostname mismatch|doesn't match", re.IGNORECASE
)


@dataclass(frozen=True)
class LdapResult:
    """The outcome of one LDAP request, as the server reported it."""

    code: int
    name: str
    message: str

    @property
    def ok(self) -> bool:
        return self.code == 0


def bind_reason_code(message: str) -> str | None:
    """The ``data NNN`` sub-code of a failed bind, lower-cased, if present."""
    match = _BIND_DATA.search(message)
    return match.group(1).lower() if match else None


def policy_reason(message: str) -> str:
    """The readable part of AD's password-policy refusal.

    Samba says ``0000052D: Constraint violation - check_password_restrictions:
    the password is too short...``; Windows says ``0000052D: SvcErr: ...``.
    We drop the hex code and the internal function name, keep the rest.
    """
    text = _WIN32_PREFIX.sub("", message.strip())
    if " - " in text:
        text = text.split(" - ", 1)[1]
    return text.removeprefix("check_password_restrictions: ").strip()


def error_for_result(result: LdapResult, *, action: str, system: str) -> ConnectorError:
    """The connector error for a failed LDAP result (``result.ok`` is False)."""
    detail = f"{result.name} ({result.code}): {result.message}".rstrip(": ")
    if result.name in RETRYABLE_RESULTS:
        return RetryableError(f"{action}: directory is {detail}", system=system)
    if result.name == "noSuchObject":
        return NotFound(f"{action}: no such object ({result.message})", system=system)
    if PASSWORD_RESTRICTION in result.message.upper():
        reason = policy_reason(result.message)
        return PolicyRefused(
            f"{action}: the directory's password policy refused the password "
            f"({PASSWORD_RESTRICTION}): {reason}",
            system=system,
        )
    if result.name == "insufficientAccessRights":
        return PermanentError(
            f"{action}: the service account lacks the rights for this: {detail}",
            system=system,
        )
    return PermanentError(f"{action} failed: {detail}", system=system)


def error_for_service_bind(result: LdapResult, *, system: str) -> ConnectorError:
    """The error for a refused bind of the connector's own service account."""
    if result.name == "invalidCredentials":
        code = bind_reason_code(result.message)
        reason = BIND_REASONS.get(code or "", "credentials refused")
        return PermanentError(
            f"the directory refused the service account's bind ({reason}, "
            f"data {code}); check bind_user and bind_password",
            system=system,
        )
    return error_for_result(result, action="bind as the service account", system=system)


def error_for_exception(exc: Exception, *, action: str, system: str) -> ConnectorError:
    """The error for a connection-level failure (socket, TLS, timeout).

    A certificate that fails verification is permanent: retrying will not make
    an untrusted server trustworthy, and a human must look (8.24). Everything
    else at this level (refused, reset, timed out) is an outage: retryable.
    """
    text = str(exc) or type(exc).__name__
    if _CERTIFICATE_FAILURE.search(text):
        return PermanentError(
            f"{action}: the directory's TLS certificate failed verification "
            f"(8.24): {text}",
            system=system,
        )
    return RetryableError(
        f"{action}: directory unreachable ({type(exc).__name__}: {text})",
        system=system,
    )
