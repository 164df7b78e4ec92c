"""The one contract every target-system connector fulfils.

A connector speaks one protocol (LDAP, Microsoft Graph, SCIM, ...) to one
target system. The worker calls it; handlers never do (they write operation
rows instead, see ``docs/decisions/0002-operation-queue.md``).

Every method is idempotent: asking for a state the system is already in
("already exists", "already a member", "already gone") succeeds. A failure is
never swallowed: it is raised as one of the errors below, so the queue can
decide to retry, park the operation as dead, or treat it as done.

Error tree::

    ConnectorError                 anything the target system refused or failed
      ├── RetryableError           try again later (outage, busy, timeout)
      │     └── Throttled          the system asked us to slow down (429/503)
      ├── PermanentError           retrying will not help; a human must look
      │     ├── Conflict           the object exists but belongs to someone else
      │     ├── PolicyRefused      the system's own rules refused the value
      │     │                      (a password its policy rejects, say)
      │     └── NotSupported       the system cannot do this at all
      └── NotFound                 the account or group does not exist

Arguments and results are frozen dataclasses; connectors receive their
client (an ldap3 connection factory, an HTTP session) from the composition
root so that tests can hand them a real server on loopback.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable


class ConnectorError(Exception):
    """Base of every error a connector raises."""

    def __init__(self, message: str, *, system: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.system = system

    def __str__(self) -> str:
        return f"{self.system}: {self.message}" if self.system else self.message


class RetryableError(ConnectorError):
    """A transient failure; the same call may succeed later.

    ``retry_after`` is the number of seconds the system asked us to wait, when
    it said so (HTTP ``Retry-After``); otherwise the queue's backoff applies.
    """

    def __init__(
        self, message: str, *, system: str = "", retry_after: float | None = None
    ) -> None:
        super().__init__(message, system=system)
        self.retry_after = retry_after


class Throttled(RetryableError):
    """The system throttled us (HTTP 429, or 503 with ``Retry-After``)."""


class PermanentError(ConnectorError):
    """Retrying cannot help: bad data, missing rights, or a refused value."""


class Conflict(PermanentError):
    """The object already exists and does not belong to this identity."""


class PolicyRefused(PermanentError):
    """The target's own policy refused a value; the message quotes its reason."""


class NotSupported(PermanentError):
    """The target system has no such operation."""


class NotFound(ConnectorError):
    """The account or group does not exist in the target system."""


class Capability(enum.StrEnum):
    """Optional abilities; the planner skips steps a system cannot do."""

    PASSWORD = "password"  # noqa: S105 - a capability name, not a secret
    REVOKE_SESSIONS = "revoke_sessions"
    MOVE_TO_LEAVERS = "move_to_leavers"
    HIDE_FROM_ADDRESS_LISTS = "hide_from_address_lists"
    REMOVE_LICENSES = "remove_licenses"
    GROUPS = "groups"
    DELETE = "delete"
    TEST_BIND = "test_bind"
    LAST_SIGN_IN = "last_sign_in"


class Secret:
    """A password in memory. Its repr never shows the value; call ``reveal``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__


@dataclass(frozen=True)
class AccountRef:
    """Where an account lives: its stable native id and its user name.

    ``native_id`` is the id that survives renames and moves: objectGUID for
    AD, the object id for Entra, the SCIM ``id`` for SaaS.
    """

    native_id: str
    username: str


@dataclass(frozen=True)
class AccountSpec:
    """What an account should look like, as the service wants it."""

    username: str
    employee_id: str
    given_name: str
    family_name: str
    email: str
    department: str | None = None
    title: str | None = None
    manager_native_id: str | None = None
    enabled: bool = True

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    def attributes(self) -> dict[str, str | None]:
        """The attributes ``update_account`` understands, keyed by our names."""
        return {
            "given_name": self.given_name,
            "family_name": self.family_name,
            "display_name": self.display_name,
            "email": self.email,
            "department": self.department,
            "title": self.title,
            "manager_native_id": self.manager_native_id,
        }


ATTRIBUTE_NAMES = frozenset(AccountSpec("", "", "", "", "").attributes())


@dataclass(frozen=True)
class AccountState:
    """An account as read back from the target system."""

    ref: AccountRef
    employee_id: str | None
    enabled: bool
    attributes: Mapping[str, str | None] = field(default_factory=dict)
    groups: frozenset[str] = frozenset()
    location: str | None = None  # AD: the DN's parent container
    last_sign_in: datetime | None = None
    hidden_from_address_lists: bool = False


@runtime_checkable
class Connector(Protocol):
    """One target system. Implementations: ``active_directory``, ``fake``, ...

    Group arguments are entitlement keys as the policy names them (an AD
    group's sAMAccountName, an Entra group's display name, a SCIM group's
    displayName); the connector resolves them.
    """

    system_id: str
    capabilities: frozenset[Capability]

    def create_account(self, spec: AccountSpec, password: Secret | None) -> AccountRef:
        """Create the account, or adopt one with the same username *and*
        employee id. The same username held by another employee raises
        ``Conflict``. With a password, the user must change it at first
        sign-in. ``spec.enabled`` decides the initial state."""
        ...

    def find_account(
        self, *, username: str | None = None, employee_id: str | None = None
    ) -> AccountState | None:
        """Look an account up by user name or employee id; None if absent."""
        ...

    def get_account(self, ref: AccountRef) -> AccountState:
        """Read the account back by native id; ``NotFound`` if it is gone."""
        ...

    def update_account(
        self, ref: AccountRef, changes: Mapping[str, str | None]
    ) -> None:
        """Set attributes (names from ``ATTRIBUTE_NAMES``); None clears one."""
        ...

    def set_enabled(self, ref: AccountRef, enabled: bool) -> None:
        """Enable or disable sign-in."""
        ...

    def set_password(
        self, ref: AccountRef, password: Secret, *, must_change: bool
    ) -> None:
        """Reset the password. A value the system's policy refuses raises
        ``PolicyRefused`` quoting the system's reason."""
        ...

    def add_to_group(self, ref: AccountRef, group: str) -> None:
        """Make the account a member; already a member is success."""
        ...

    def remove_from_group(self, ref: AccountRef, group: str) -> None:
        """Remove the membership; not a member is success."""
        ...

    def revoke_sessions(self, ref: AccountRef) -> None:
        """End every session and refresh token, where the system has them."""
        ...

    def move_to_leavers(self, ref: AccountRef) -> None:
        """Move the account to the leavers' container, where there is one;
        hide it from address lists where the schema allows."""
        ...

    def delete_account(self, ref: AccountRef) -> None:
        """Delete the account for good; already gone is success."""
        ...

    def iter_accounts(self, page_size: int = 500) -> Iterator[AccountState]:
        """Every account the connector manages, paged, for reconciliation."""
        ...

    def check_password(self, ref: AccountRef, password: Secret) -> bool:
        """Whether the password signs in (a test bind), where supported."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


@runtime_checkable
class LicenseManager(Protocol):
    """A connector that can take a leaver's paid licences back (Entra ID)."""

    def remove_licenses(self, ref: AccountRef) -> list[str]:
        """Remove every assigned licence; returns what was removed. None
        assigned is success."""
        ...


@runtime_checkable
class AccountRestorer(Protocol):
    """A connector that can bring a leaver's account back for a rehire:
    out of the leavers' container into the one active accounts live in, and
    visible in address lists again (Active Directory)."""

    def restore_account(self, ref: AccountRef) -> str | None:
        """Move the account out of the leavers' container (where it is one)
        and show it in address lists; returns the container it is in now.
        An account already outside the leavers' container stays where it is
        (success)."""
        ...


@dataclass(frozen=True)
class PrivilegedHolding:
    """One account holding one privileged right in a system (8.2).

    ``right`` is the system's name for it: an AD group (``Domain Admins``),
    an Entra directory role (``Global Administrator``), a SaaS admin role
    (``owner``). ``kind`` says which: ``group``, ``directory_role``,
    ``admin_role`` or ``admin_count`` (AD's ``adminCount=1`` without a
    current privileged membership: ``possibly_stale``). ``via`` is the chain
    of groups a nested membership runs through, empty for a direct one.
    """

    account: AccountRef
    right: str
    kind: str
    via: tuple[str, ...] = ()
    enabled: bool = True
    possibly_stale: bool = False
    principal_type: str = "user"  # Entra: also group, servicePrincipal


@runtime_checkable
class PrivilegedReader(Protocol):
    """A connector that can list who holds privileged rights (AD, Entra,
    SCIM, the fake). A read for the privileged-account inventory; it
    changes nothing."""

    def list_privileged_accounts(
        self, privileged_groups: Collection[str] = ()
    ) -> list[PrivilegedHolding]:
        """Every account holding one of the system's built-in privileged
        rights, or membership (direct or nested) of one of
        ``privileged_groups`` (group names the policy marks privileged;
        systems whose rights are roles, not groups, may ignore them)."""
        ...


@runtime_checkable
class PasswordChangeReader(Protocol):
    """A connector that can say when an account's password last changed
    (AD ``pwdLastSet``): proof that a reset took effect where no old
    password is known to test against."""

    def password_changed_at(self, ref: AccountRef) -> datetime | None:
        """When the password was last set; None if never or unknown."""
        ...
