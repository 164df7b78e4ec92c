"""One persistent, TLS-only, bound LDAP connection, reopened once if it drops.

Connecting and binding over LDAPS costs a TLS handshake and a bind (tens to
hundreds of milliseconds), so a connector keeps one connection for its whole
life instead of one per operation. Directories close idle connections (AD's
``MaxConnIdleTime``) and restart, so a request that fails at the socket level
is retried once on a fresh connection; a second failure is a
``RetryableError`` for the queue to back off on.

Every operation here is safe to resend: the connector above interprets
"already exists" / "no such object" on the second attempt as idempotent
success, so a request the server applied just before the socket died does no
harm. The one exception is the next page of a paged search, whose cookie dies
with the connection; it is not retried.

``LdapSession`` is not thread-safe: an ldap3 synchronous connection carries
one request at a time. Give each worker thread its own connector.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import ldap3
from ldap3.core.exceptions import LDAPOperationResult

from connectors.base import PermanentError
from connectors.ldap_connection import (
    CONNECTION_ERRORS,
    SafeConnection,
    close_connection,
)
from connectors.ldap_errors import (
    LdapResult,
    error_for_exception,
    error_for_result,
    error_for_service_bind,
)

_log = logging.getLogger(__name__)

PAGED_RESULTS_OID = "1.2.840.113556.1.4.319"

Value = str | bytes | int
Changes = Mapping[str, Sequence[tuple[str, Sequence[Value]]]]
Control = tuple[str, bool, Any]


@dataclass(frozen=True)
class LdapEntry:
    """One search result: its DN and raw attribute values (names lower-case)."""

    dn: str
    raw: Mapping[str, Sequence[bytes]]

    def raw_first(self, name: str) -> bytes | None:
        values = self.raw.get(name.lower())
        return values[0] if values else None

    def values(self, name: str) -> list[str]:
        return [v.decode("utf-8", "replace") for v in self.raw.get(name.lower(), ())]

    def first(self, name: str) -> str | None:
        values = self.values(name)
        return values[0] if values else None


def _result(raw: Mapping[str, Any] | None) -> LdapResult:
    raw = raw or {}
    return LdapResult(
        code=int(raw.get("result", -1)),
        name=str(raw.get("description", "unknown")),
        message=str(raw.get("message", "")),
    )


def _entries(response: Sequence[Mapping[str, Any]] | None) -> list[LdapEntry]:
    # Referrals ("searchResRef") are skipped: we never chase them.
    return [
        LdapEntry(
            dn=str(item["dn"]),
            raw={
                k.lower(): [bytes(v) for v in vs]
                for k, vs in item["raw_attributes"].items()
            },
        )
        for item in response or ()
        if item.get("type") == "searchResEntry"
    ]


class LdapSession:
    """A bound connection from ``factory``, kept open across operations.

    ``factory`` returns a new, usually unopened ``ldap3.Connection`` created
    with ``raise_exceptions=False`` and carrying the service account's
    credentials. The session opens it, upgrades a plain connection with
    StartTLS and refuses to bind without TLS (8.24).
    """

    def __init__(self, factory: Callable[[], Any], *, system: str) -> None:
        self._factory = factory
        self._system = system
        self._connection: Any = None

    def close(self) -> None:
        """Unbind and drop the connection; the next request reconnects."""
        connection, self._connection = self._connection, None
        if connection is not None:
            close_connection(connection)

    def search(
        self,
        action: str,
        base: str,
        ldap_filter: str,
        attributes: Sequence[str],
        *,
        scope: str = ldap3.SUBTREE,
    ) -> tuple[LdapResult, list[LdapEntry]]:
        def request(c: Any) -> object:
            return c.search(
                base, ldap_filter, search_scope=scope, attributes=list(attributes)
            )

        result, connection = self._execute(action, request)
        return result, _entries(connection.response)

    def root_attribute(self, name: str) -> str:
        """One attribute of the server's root DSE (``schemaNamingContext``...)."""
        result, entries = self.search(
            "read rootDSE", "", "(objectClass=*)", [name], scope=ldap3.BASE
        )
        value = entries[0].first(name) if result.ok and entries else None
        if value is None:
            raise PermanentError(
                f"the directory's root DSE has no {name} ({result.name})",
                system=self._system,
            )
        return value

    def paged_search(
        self,
        action: str,
        base: str,
        ldap_filter: str,
        attributes: Sequence[str],
        page_size: int,
    ) -> Iterator[list[LdapEntry]]:
        """Yield the entries page by page (RFC 2696 paged results control)."""
        cookie: bytes | None = None
        while True:

            def request(c: Any, cookie: bytes | None = cookie) -> object:
                return c.search(
                    base,
                    ldap_filter,
                    attributes=list(attributes),
                    paged_size=page_size,
                    paged_cookie=cookie,
                )

            # A cookie belongs to its connection: only the first page may be
            # resent on a fresh one.
            result, connection = self._execute(action, request, retry=cookie is None)
            if not result.ok:
                raise error_for_result(result, action=action, system=self._system)
            entries = _entries(connection.response)
            controls = (connection.result or {}).get("controls") or {}
            cookie = controls.get(PAGED_RESULTS_OID, {}).get("value", {}).get("cookie")
            yield entries
            if not cookie:
                return

    def add(
        self,
        action: str,
        dn: str,
        object_class: Sequence[str],
        attributes: Mapping[str, Any],
    ) -> LdapResult:
        return self._execute(
            action, lambda c: c.add(dn, list(object_class), dict(attributes))
        )[0]

    def modify(self, action: str, dn: str, changes: Changes) -> LdapResult:
        plain = {
            name: [(op, list(vals)) for op, vals in ops]
            for name, ops in changes.items()
        }
        return self._execute(action, lambda c: c.modify(dn, plain))[0]

    def modify_dn(
        self, action: str, dn: str, rdn: str, new_superior: str
    ) -> LdapResult:
        return self._execute(
            action, lambda c: c.modify_dn(dn, rdn, new_superior=new_superior)
        )[0]

    def delete(
        self, action: str, dn: str, controls: Sequence[Control] = ()
    ) -> LdapResult:
        return self._execute(
            action, lambda c: c.delete(dn, controls=list(controls) or None)
        )[0]

    def probe_bind(self, user: str, password: str) -> LdapResult:
        """Bind as ``user`` on a separate, short-lived connection to the same
        server, and report the result. The service connection is untouched."""
        server = self._bound().server
        probe = SafeConnection(
            server,
            user=user,
            password=password,
            raise_exceptions=False,
            read_only=True,
            receive_timeout=getattr(self._connection, "receive_timeout", None),
        )
        try:
            self._secure(probe)
            probe.bind(read_server_info=False)
            return _result(probe.result)
        except CONNECTION_ERRORS as exc:
            raise error_for_exception(
                exc, action="test bind", system=self._system
            ) from exc
        finally:
            close_connection(probe)

    def _execute(
        self, action: str, request: Callable[[Any], object], *, retry: bool = True
    ) -> tuple[LdapResult, Any]:
        try:
            return self._attempt(request)
        except CONNECTION_ERRORS as exc:
            self.close()
            if not retry:
                raise error_for_exception(
                    exc, action=action, system=self._system
                ) from exc
            _log.info(
                "%s: LDAP connection lost (%s); reconnecting once", self._system, exc
            )
        try:
            return self._attempt(request)
        except CONNECTION_ERRORS as exc:
            self.close()
            raise error_for_exception(exc, action=action, system=self._system) from exc

    def _attempt(self, request: Callable[[Any], object]) -> tuple[LdapResult, Any]:
        connection = self._bound()
        try:
            request(connection)
        except LDAPOperationResult as exc:  # a factory with raise_exceptions=True
            return LdapResult(exc.result, exc.description, exc.message), connection
        return _result(connection.result), connection

    def _bound(self) -> Any:
        connection = self._connection
        if connection is not None and connection.bound and not connection.closed:
            return connection
        self.close()
        connection = self._factory()
        try:
            self._secure(connection)
            if not connection.bound and not connection.bind(read_server_info=False):
                raise error_for_service_bind(
                    _result(connection.result), system=self._system
                )
        except BaseException:
            close_connection(connection)
            raise
        self._connection = connection
        return connection

    def _secure(self, connection: Any) -> None:
        """Open the connection and make sure it is encrypted before any bind."""
        if connection.closed:
            connection.open(read_server_info=False)
        if not connection.server.ssl and not connection.tls_started:
            connection.start_tls(read_server_info=False)
        if not (connection.server.ssl or connection.tls_started):
            # 8.24: a password never crosses the network in clear.
            raise PermanentError(
                "refusing an unencrypted LDAP connection: use ldaps:// or StartTLS",
                system=self._system,
            )
