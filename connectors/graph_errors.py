"""Microsoft Graph answers and msal results, translated into the error tree.

Graph reports errors as ``{"error": {"code": ..., "message": ...}}``; this
module keeps both in the message so a human can act on it. 429 and 503 are
``Throttled`` with the server's ``Retry-After``; other 5xx are retryable;
404 is ``NotFound``; a password the tenant's policy refuses is
``PolicyRefused`` quoting Graph; everything else is permanent. Nothing here
ever sees a token or a password: callers pass responses, not requests.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from connectors.base import (
    ConnectorError,
    NotFound,
    PermanentError,
    PolicyRefused,
    RetryableError,
    Throttled,
)

THROTTLED_STATUSES = frozenset({429, 503})
_PASSWORD_POLICY = re.compile(
    r"password.*(complexity|policy|requirement|strength)", re.IGNORECASE
)
_ALREADY_EXISTS = re.compile(r"already exist", re.IGNORECASE)
# msal error codes that mean the app registration or its credential is wrong.
_CREDENTIAL_ERRORS = frozenset(
    {"invalid_client", "unauthorized_client", "invalid_grant", "invalid_request"}
)
_TRANSIENT_TOKEN_ERRORS = frozenset({"temporarily_unavailable", "server_error"})


class Gone(PermanentError):
    """HTTP 410: what the link pointed at no longer exists (an expired delta
    link, say); start over rather than retry."""


def graph_error(body: Any) -> tuple[str, str]:
    """Graph's error code and message from a response body (any shape)."""
    error = body.get("error") if isinstance(body, Mapping) else None
    if isinstance(error, Mapping):
        return str(error.get("code") or "unknown"), str(error.get("message") or "")
    return "unknown", ""


def already_exists(text: str) -> bool:
    """Whether Graph's message (or an error quoting it) says "that reference
    or value is already there"."""
    return _ALREADY_EXISTS.search(text) is not None


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from a ``Retry-After`` header (seconds or an HTTP date)."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def error_for_response(
    status: int,
    headers: Mapping[str, str],
    body: Any,
    *,
    action: str,
    system: str,
) -> ConnectorError:
    """The connector error for a failed Graph response."""
    code, message = graph_error(body)
    text = f"{action}: Graph answered {status} {code}" + (
        f": {message}" if message else ""
    )
    if status in THROTTLED_STATUSES:
        return Throttled(text, system=system, retry_after=retry_after(headers))
    if status >= 500 or status == 408:
        return RetryableError(text, system=system, retry_after=retry_after(headers))
    if status == 404:
        return NotFound(text, system=system)
    if status == 410:
        return Gone(text, system=system)
    if status == 400 and _PASSWORD_POLICY.search(message):
        return PolicyRefused(f"{action}: password refused: {message}", system=system)
    if status == 401:
        return PermanentError(
            f"{text} (the token was refused; check the app's credentials and "
            "API permissions)",
            system=system,
        )
    if status == 403:
        return PermanentError(
            f"{text} (the app lacks a Graph permission or directory role)",
            system=system,
        )
    return PermanentError(text, system=system)


def error_for_token(result: Mapping[str, Any], *, system: str) -> ConnectorError:
    """The connector error for a failed msal token request."""
    code = str(result.get("error") or "unknown")
    # The first line of Entra's description ("AADSTS7000215: Invalid client
    # secret provided. ...") names the problem; the rest is trace ids.
    description = str(result.get("error_description") or "").splitlines()
    reason = f"{code}: {description[0]}" if description else code
    if code in _TRANSIENT_TOKEN_ERRORS:
        return RetryableError(f"token request failed: {reason}", system=system)
    if code in _CREDENTIAL_ERRORS:
        return PermanentError(
            "the app credentials are wrong (tenant, client id, secret or "
            f"certificate): {reason}",
            system=system,
        )
    return PermanentError(f"token request refused: {reason}", system=system)
