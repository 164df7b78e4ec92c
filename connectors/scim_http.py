"""One SCIM request over an injected ``requests.Session``, its failures
mapped onto the error tree of ``connectors.base``.

Status mapping (RFC 7644 §3.12)::

    429, 503           Throttled (Retry-After in seconds or as an HTTP date)
    other 5xx, network RetryableError
    TLS verification   PermanentError (a wrong certificate does not heal)
    401 / 403          PermanentError: the token is wrong / lacks the rights
    404                NotFound
    409                Conflict (scimType uniqueness)
    412                PreconditionFailed: the ETag we sent is stale
    501                NotSupported
    other 4xx          ScimRefused quoting the provider's detail and scimType

The bearer token goes into each request's headers and nowhere else: it is
never logged, never put in a message, and the injected session is not
changed. Values passed as ``secrets`` are masked in any quoted detail.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from connectors.base import (
    Conflict,
    ConnectorError,
    NotFound,
    NotSupported,
    PermanentError,
    RetryableError,
    Throttled,
)
from connectors.scim_settings import ScimSettings

log = logging.getLogger(__name__)

SCIM_JSON = "application/scim+json"
_ACCEPT = f"{SCIM_JSON}, application/json;q=0.9"
_DETAIL_LIMIT = 500


class ScimRefused(PermanentError):
    """The provider refused the request (a 4xx with a SCIM error body)."""

    def __init__(
        self,
        message: str,
        *,
        system: str = "",
        status: int = 400,
        scim_type: str | None = None,
        detail: str = "",
    ) -> None:
        super().__init__(message, system=system)
        self.status = status
        self.scim_type = scim_type
        self.detail = detail


class PreconditionFailed(RetryableError):
    """HTTP 412: the resource changed since the version we sent in If-Match."""


@dataclass(frozen=True)
class ScimReply:
    """A successful answer: its status, JSON body (None when empty) and ETag."""

    status: int
    body: dict[str, Any] | None
    etag: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date)."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def mask(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


class ScimHttp:
    """Sends SCIM requests for one connector. Not thread-safe (neither is
    the connector); the session is the caller's."""

    def __init__(self, settings: ScimSettings, session: requests.Session) -> None:
        self.settings = settings
        self.session = session
        self.system = settings.system_id

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Mapping[str, Any] | None = None,
        if_match: str | None = None,
        secrets: Iterable[str] = (),
    ) -> ScimReply:
        """Send one request to ``base_url + path``; raise on any failure."""
        headers = {
            "Accept": _ACCEPT,
            "Authorization": f"Bearer {self.settings.token.reveal()}",
        }
        if body is not None:
            headers["Content-Type"] = SCIM_JSON
        if if_match:
            headers["If-Match"] = if_match
        where = f"{method} {path}"
        started = time.perf_counter()
        try:
            response = self.session.request(
                method,
                self.settings.root + path,
                params=params,
                data=None if body is None else json.dumps(body),
                headers=headers,
                timeout=(self.settings.connect_timeout, self.settings.read_timeout),
                allow_redirects=False,
                **self._verify(),
            )
        except requests.RequestException as error:
            raise self._transport_error(where, error) from None
        log.debug(
            "%s: %s -> %s in %.0f ms",
            self.system,
            where,
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
        if response.status_code >= 300:
            raise self._status_error(where, response, list(secrets))
        return ScimReply(
            status=response.status_code,
            body=self._json(where, response),
            etag=response.headers.get("ETag"),
            headers=dict(response.headers),
        )

    def close(self) -> None:
        self.session.close()

    # -- helpers -------------------------------------------------------------

    def _verify(self) -> dict[str, Any]:
        # Per request: a session's own ``verify`` loses to REQUESTS_CA_BUNDLE.
        return {"verify": self.settings.ca_file} if self.settings.ca_file else {}

    def _transport_error(
        self, where: str, error: requests.RequestException
    ) -> ConnectorError:
        kind = type(error).__name__
        if isinstance(error, requests.exceptions.SSLError):
            # 8.24: an unverifiable certificate is refused, and stays refused.
            return PermanentError(
                f"{where}: TLS verification of {self.settings.root} failed ({kind})",
                system=self.system,
            )
        if isinstance(error, requests.ConnectionError | requests.Timeout):
            return RetryableError(
                f"{where}: cannot reach {self.settings.root} ({kind})",
                system=self.system,
            )
        return PermanentError(f"{where}: request failed ({kind})", system=self.system)

    def _json(self, where: str, response: requests.Response) -> dict[str, Any] | None:
        # Vendors send application/scim+json, application/json, or nothing.
        if not response.content or not response.content.strip():
            return None
        try:
            data = json.loads(response.content)
        except ValueError:
            raise PermanentError(
                f"{where}: the answer is not JSON ({response.status_code})",
                system=self.system,
            ) from None
        if isinstance(data, list):  # a bare list where a ListResponse belongs
            return {"Resources": data, "totalResults": len(data)}
        if not isinstance(data, dict):
            raise PermanentError(f"{where}: unexpected JSON", system=self.system)
        return data

    def _status_error(
        self, where: str, response: requests.Response, secrets: list[str]
    ) -> ConnectorError:
        status = response.status_code
        scim_type, detail = _scim_error(response)
        detail = mask(detail, secrets)[:_DETAIL_LIMIT]
        said = f"{status}" + (f" {scim_type}" if scim_type else "")
        said += f": {detail}" if detail else ""
        message = f"{where}: {said}"
        s = self.system
        if status in (429, 503):
            wait = retry_after(response.headers.get("Retry-After"))
            return Throttled(
                f"{where}: throttled ({status})", system=s, retry_after=wait
            )
        if status >= 500 and status != 501:
            return RetryableError(message, system=s)
        if status == 501:
            return NotSupported(message, system=s)
        if status == 401:
            return PermanentError(
                f"{where}: 401: the provider refused the bearer token (wrong, "
                "expired or revoked); set a valid one",
                system=s,
            )
        if status == 403:
            return PermanentError(
                f"{where}: 403: the token lacks the rights for this operation",
                system=s,
            )
        if status == 404:
            return NotFound(message, system=s)
        if status == 409:
            return Conflict(message, system=s)
        if status == 412:
            return PreconditionFailed(message, system=s)
        if 300 <= status < 400:
            return PermanentError(f"{where}: unexpected redirect ({status})", system=s)
        return ScimRefused(
            message, system=s, status=status, scim_type=scim_type, detail=detail
        )


def _scim_error(response: requests.Response) -> tuple[str | None, str]:
    """The ``scimType`` and ``detail`` of an error body, or a text excerpt."""
    try:
        data = json.loads(response.content) if response.content else {}
    except ValueError:
        return None, response.text.strip()[:200]
    if not isinstance(data, dict):
        return None, ""
    scim_type = data.get("scimType")
    detail = data.get("detail") or data.get("message") or ""
    return (str(scim_type) if scim_type else None), str(detail)
