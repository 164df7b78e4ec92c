"""An in-memory connector that behaves like the real ones and records its calls.

Unit tests of the planner, the queue and the handlers use it instead of a
directory. The contract suite (``tests/contract``) runs it against the same
assertions as the Active Directory connector, so it cannot drift from the
real thing: idempotent writes, ``Conflict`` on a foreign user name,
``NotFound`` for unknown accounts and groups, AD-like password rules.

Test controls: ``calls`` (every call, secrets masked as ``"***"``),
``outage`` (every call raises ``RetryableError``), ``fail_next`` (one
injected error), ``known_groups`` (the groups that exist),
``record_sign_in`` (a last sign-in the system reports). Thread-safe.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import os
import re
import threading
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace

from connectors.base import (
    ATTRIBUTE_NAMES,
    AccountRef,
    AccountSpec,
    AccountState,
    Capability,
    Conflict,
    Connector,
    ConnectorError,
    NotFound,
    NotSupported,
    PolicyRefused,
    PrivilegedHolding,
    RetryableError,
    Secret,
)

MIN_PASSWORD_LENGTH = 8  # 5.17: at least 8 characters
MIN_CHARACTER_CLASSES = 3  # AD complexity: 3 of upper, lower, digit, symbol
_CLASSES = (r"[A-Z]", r"[a-z]", r"[0-9]", r"[^A-Za-z0-9]")
_METHODS = frozenset(name for name in dir(Connector) if not name.startswith("_"))
MASKED = "***"
# Groups the fake treats as built-in privileged ones (AD's, by name).
BUILTIN_PRIVILEGED = frozenset({"Domain Admins", "Administrators"})


@dataclass
class _Account:
    state: AccountState
    # A salted digest, never the password: a fake still stores none (5.17).
    password_digest: bytes | None = None
    salt: bytes = field(default_factory=lambda: os.urandom(16))
    must_change: bool = False
    password_set_at: dt.datetime | None = None


def _digest(password: str, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 1000)


def _check_policy(password: str) -> None:
    """Refuse what AD's default policy refuses, in AD's (Samba's) words."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PolicyRefused(
            "the password is too short. It should be equal or longer than "
            f"{MIN_PASSWORD_LENGTH} characters!"
        )
    if sum(bool(re.search(c, password)) for c in _CLASSES) < MIN_CHARACTER_CLASSES:
        raise PolicyRefused("the password does not meet the complexity criteria!")


class FakeConnector:
    """A ``Connector`` holding accounts in memory."""

    def __init__(
        self,
        system_id: str = "fake",
        *,
        known_groups: Iterable[str] = (),
        capabilities: Iterable[Capability] = tuple(Capability),
        users_location: str = "people",
        leavers_location: str = "leavers",
    ) -> None:
        self.system_id = system_id
        self.capabilities: frozenset[Capability] = frozenset(capabilities)
        self.known_groups: set[str] = set(known_groups)
        self.licenses: dict[str, list[str]] = {}  # native id -> SKU ids
        self.users_location = users_location
        self.leavers_location = leavers_location
        self.calls: list[tuple[str, tuple[object, ...]]] = []
        self.outage = False
        self._failures: dict[str, list[ConnectorError]] = {}
        self._accounts: dict[str, _Account] = {}
        self._lock = threading.RLock()
        self._next_id = 0

    def fail_next(self, method: str, error: ConnectorError) -> None:
        """Make the next call of ``method`` raise ``error`` (queued in order)."""
        if method not in _METHODS:
            raise ValueError(f"{method!r} is not a Connector method")
        with self._lock:
            self._failures.setdefault(method, []).append(error)

    def create_account(self, spec: AccountSpec, password: Secret | None) -> AccountRef:
        with self._call("create_account", spec, MASKED if password else None):
            for account in self._accounts.values():
                if account.state.ref.username == spec.username:
                    if account.state.employee_id != spec.employee_id:
                        raise self._error(
                            Conflict, f"{spec.username!r} belongs to another employee"
                        )
                    return account.state.ref
            if password is not None:
                self._need(Capability.PASSWORD)
                self._policy(password)
            self._next_id += 1
            ref = AccountRef(f"fake-{self._next_id:06d}", spec.username)
            attributes = {k: v or None for k, v in spec.attributes().items()}
            if spec.manager_native_id:
                self._account(AccountRef(spec.manager_native_id, ""))
            state = AccountState(
                ref=ref,
                employee_id=spec.employee_id,
                enabled=spec.enabled and password is not None,
                attributes=attributes,
                location=self.users_location,
            )
            self._accounts[ref.native_id] = account = _Account(state)
            if password is not None:
                self._store_password(account, password, must_change=True)
            return ref

    def find_account(
        self, *, username: str | None = None, employee_id: str | None = None
    ) -> AccountState | None:
        with self._call("find_account", username, employee_id):
            if username is None and employee_id is None:
                raise ValueError("find_account needs a username or an employee_id")
            found = [
                a.state
                for a in self._accounts.values()
                if username in (None, a.state.ref.username)
                and employee_id in (None, a.state.employee_id)
            ]
            if len(found) > 1:
                raise self._error(Conflict, f"{len(found)} accounts match")
            return found[0] if found else None

    def get_account(self, ref: AccountRef) -> AccountState:
        with self._call("get_account", ref):
            return self._account(ref).state

    def update_account(
        self, ref: AccountRef, changes: Mapping[str, str | None]
    ) -> None:
        with self._call("update_account", ref, dict(changes)):
            unknown = set(changes) - ATTRIBUTE_NAMES
            if unknown:
                raise ValueError(f"unknown attributes: {sorted(unknown)}")
            account = self._account(ref)
            if changes.get("manager_native_id"):
                self._account(AccountRef(str(changes["manager_native_id"]), ""))
            attributes = dict(account.state.attributes)
            attributes.update({k: v or None for k, v in changes.items()})
            self._set(account, attributes=attributes)

    def set_enabled(self, ref: AccountRef, enabled: bool) -> None:
        with self._call("set_enabled", ref, enabled):
            self._set(self._account(ref), enabled=enabled)

    def set_password(
        self, ref: AccountRef, password: Secret, *, must_change: bool
    ) -> None:
        with self._call("set_password", ref, MASKED, must_change):
            self._need(Capability.PASSWORD)
            account = self._account(ref)
            self._policy(password)
            self._store_password(account, password, must_change=must_change)

    def add_to_group(self, ref: AccountRef, group: str) -> None:
        with self._call("add_to_group", ref, group):
            account = self._group_change(ref, group)
            self._set(account, groups=account.state.groups | {group})

    def remove_from_group(self, ref: AccountRef, group: str) -> None:
        with self._call("remove_from_group", ref, group):
            account = self._group_change(ref, group)
            self._set(account, groups=account.state.groups - {group})

    def revoke_sessions(self, ref: AccountRef) -> None:
        with self._call("revoke_sessions", ref):
            self._need(Capability.REVOKE_SESSIONS)
            self._account(ref)

    def remove_licenses(self, ref: AccountRef) -> list[str]:
        """Take back the account's licences (set by tests in ``licenses``)."""
        with self._call("remove_licenses", ref):
            self._need(Capability.REMOVE_LICENSES)
            self._account(ref)
            return self.licenses.pop(ref.native_id, [])

    def move_to_leavers(self, ref: AccountRef) -> None:
        with self._call("move_to_leavers", ref):
            self._need(Capability.MOVE_TO_LEAVERS)
            hide = Capability.HIDE_FROM_ADDRESS_LISTS in self.capabilities
            account = self._account(ref)
            self._set(
                account,
                location=self.leavers_location,
                hidden_from_address_lists=hide
                or account.state.hidden_from_address_lists,
            )

    def restore_account(self, ref: AccountRef) -> str | None:
        """A rehire: back from the leavers' location, visible again."""
        with self._call("restore_account", ref):
            account = self._account(ref)
            location = account.state.location
            if location == self.leavers_location:
                location = self.users_location
            self._set(account, location=location, hidden_from_address_lists=False)
            return location

    def delete_account(self, ref: AccountRef) -> None:
        with self._call("delete_account", ref):
            self._need(Capability.DELETE)
            self._accounts.pop(ref.native_id, None)

    def iter_accounts(self, page_size: int = 500) -> Iterator[AccountState]:
        with self._call("iter_accounts", page_size):
            # A snapshot: callers may change accounts while they iterate.
            return iter([a.state for a in self._accounts.values()])

    def check_password(self, ref: AccountRef, password: Secret) -> bool:
        with self._call("check_password", ref, MASKED):
            self._need(Capability.TEST_BIND)
            account = self._account(ref)
            digest = account.password_digest
            if not password.reveal() or digest is None or not account.state.enabled:
                return False
            if not hmac.compare_digest(
                digest, _digest(password.reveal(), account.salt)
            ):
                return False
            if not account.must_change:  # AD records no sign-in until it is changed
                self._set(account, last_sign_in=dt.datetime.now(dt.UTC))
            return True

    def list_privileged_accounts(
        self, privileged_groups: Collection[str] = ()
    ) -> list[PrivilegedHolding]:
        """Direct members of the built-in privileged groups and of
        ``privileged_groups`` (the fake does not nest groups)."""
        with self._call("list_privileged_accounts", tuple(privileged_groups)):
            wanted = BUILTIN_PRIVILEGED | set(privileged_groups)
            return [
                PrivilegedHolding(
                    account=a.state.ref,
                    right=group,
                    kind="group",
                    enabled=a.state.enabled,
                )
                for a in self._accounts.values()
                for group in sorted(a.state.groups & wanted)
            ]

    def password_changed_at(self, ref: AccountRef) -> dt.datetime | None:
        with self._call("password_changed_at", ref):
            return self._account(ref).password_set_at

    def close(self) -> None:
        with self._call("close"):
            return

    def record_sign_in(self, username: str, at: dt.datetime | None) -> None:
        """Test control: the system last saw ``username`` sign in ``at``."""
        with self._lock:
            for account in self._accounts.values():
                if account.state.ref.username == username:
                    self._set(account, last_sign_in=at)
                    return
            raise self._error(NotFound, f"no account {username!r}")

    # -- helpers -------------------------------------------------------------

    @contextlib.contextmanager
    def _call(self, method: str, *args: object) -> Iterator[None]:
        with self._lock:
            self.calls.append((method, args))
            if self.outage:
                raise self._error(RetryableError, f"{method}: simulated outage")
            queued = self._failures.get(method)
            if queued:
                raise queued.pop(0)
            yield

    def _error(self, kind: type[ConnectorError], message: str) -> ConnectorError:
        return kind(message, system=self.system_id)

    def _need(self, capability: Capability) -> None:
        if capability not in self.capabilities:
            raise self._error(NotSupported, f"this system has no {capability.value}")

    def _policy(self, password: Secret) -> None:
        try:
            _check_policy(password.reveal())
        except PolicyRefused as exc:
            raise self._error(
                PolicyRefused, f"password refused: {exc.message}"
            ) from None

    def _account(self, ref: AccountRef) -> _Account:
        account = self._accounts.get(ref.native_id)
        if account is None:
            raise self._error(NotFound, f"no account {ref.native_id}")
        return account

    def _group_change(self, ref: AccountRef, group: str) -> _Account:
        self._need(Capability.GROUPS)
        account = self._account(ref)
        if group not in self.known_groups:
            raise self._error(NotFound, f"no group named {group!r}")
        return account

    def _store_password(
        self, account: _Account, password: Secret, *, must_change: bool
    ) -> None:
        account.password_digest = _digest(password.reveal(), account.salt)
        account.must_change = must_change
        account.password_set_at = dt.datetime.now(dt.UTC)

    @staticmethod
    def _set(account: _Account, **changes: object) -> None:
        account.state = replace(account.state, **changes)  # type: ignore[arg-type]
