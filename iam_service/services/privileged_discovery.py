"""Discovery of privileged accounts in every connected system (8.2).

For each approved system (5.23: an unapproved one is never read) whose
connector is a ``PrivilegedReader``: AD's built-in privileged groups and
the groups the policy's catalogue marks ``privileged: true`` (members
direct and nested), ``adminCount=1`` leftovers as possibly stale, Entra
directory roles, SaaS admin roles over SCIM. The connector is read outside
any transaction; what it found is then written in one:

* a new account enters the inventory (its owner is the person whose
  account it is, when the service manages that account; else unknown);
* a known one gets its rights, state and ``last_seen_at`` refreshed;
* a discovered account no longer found is kept, marked not present (its
  history stays; it drops out of the list and the flags).

Manual systems (no API) are registered by hand and never discovered.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from connectors.base import (
    Connector,
    ConnectorError,
    PrivilegedHolding,
    PrivilegedReader,
)
from iam_service.domain.policy import Policy
from iam_service.domain.privileged import (
    AccountSource,
    Holding,
    OwnerKind,
    PrivilegedAccount,
)
from iam_service.services.privileged_inventory import MANUAL_KIND, target
from iam_service.services.unit_of_work import UnitOfWork, UnitOfWorkFactory


@dataclass
class DiscoveryReport:
    system: str
    found: int = 0
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "found": self.found,
            "added": self.added,
            "changed": self.changed,
            "gone": self.gone,
            "error": self.error,
        }


class PrivilegedDiscovery:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        policy: Callable[[], Policy],
        connectors: Callable[[str], Connector],
        approved: Callable[[], frozenset[str]],
    ) -> None:
        self.uow_factory = uow_factory
        self.policy = policy
        self.connectors = connectors  # refuses systems the register has not approved
        self.approved = approved

    def discover(
        self, system: str | None = None, *, actor: str = "scheduler"
    ) -> list[DiscoveryReport]:
        """Read ``system`` (every approved, connected one when None)."""
        keys = [system] if system else self._systems()
        reports = []
        for key in keys:
            report = DiscoveryReport(key)
            try:
                holdings = self._read(key)
            except ConnectorError as error:
                report.error = str(error)
                reports.append(report)
                continue
            report.found = len({h.account.native_id for h in holdings})
            self._apply(key, holdings, actor, report)
            reports.append(report)
        return reports

    def _systems(self) -> list[str]:
        approved = self.approved()
        with self.uow_factory() as uow:
            return sorted(
                s.key
                for s in uow.systems.all()
                if s.key in approved and s.kind != MANUAL_KIND
            )

    def _read(self, key: str) -> list[PrivilegedHolding]:
        connector = self.connectors(key)
        try:
            if not isinstance(connector, PrivilegedReader):
                raise ConnectorError("cannot list privileged accounts", system=key)
            groups = [
                e.key
                for e in self.policy().entitlements
                if e.privileged and e.system_key == key
            ]
            return connector.list_privileged_accounts(groups)
        finally:
            connector.close()

    def _apply(
        self,
        key: str,
        holdings: Sequence[PrivilegedHolding],
        actor: str,
        report: DiscoveryReport,
    ) -> None:
        by_account: dict[str, list[PrivilegedHolding]] = {}
        for h in holdings:
            by_account.setdefault(h.account.native_id, []).append(h)
        with self.uow_factory() as uow:
            known = {a.native_id: a for a in uow.privileged.for_system(key)}
            for native_id, held in by_account.items():
                account = known.pop(native_id, None)
                if account is None:
                    account = uow.privileged.by_name(key, held[0].account.username)
                if account is None:
                    self._add(uow, key, held, actor)
                    report.added.append(held[0].account.username)
                elif _refresh(uow, account, held, actor):
                    report.changed.append(account.username)
            for account in known.values():
                if account.source is AccountSource.DISCOVERED and account.present:
                    account.present = False
                    account.updated_at = uow.clock.now()
                    uow.record(
                        actor,
                        "privileged.no_longer_found",
                        target(account),
                        before={"rights": account.rights},
                        reason=f"discovery of {key}",
                    )
                    report.gone.append(account.username)
            uow.commit()

    @staticmethod
    def _add(
        uow: UnitOfWork, key: str, held: list[PrivilegedHolding], actor: str
    ) -> None:
        first, now = held[0], uow.clock.now()
        account = PrivilegedAccount(
            system_key=key,
            username=first.account.username,
            native_id=first.account.native_id,
            source=AccountSource.DISCOVERED,
            rights=_rights(held),
            enabled=first.enabled,
            possibly_stale=all(h.possibly_stale for h in held),
            first_seen_at=now,
            last_seen_at=now,
            created_by=actor,
            updated_at=now,
        )
        managed = uow.accounts.by_native_id(key, first.account.native_id)
        person = uow.persons.get(managed.person_id) if managed else None
        if person is not None:  # a person's own admin account
            account.owner_kind = OwnerKind.PERSON
            account.owner_employee_id = person.employee_id
        uow.privileged.add(account)
        uow.flush()
        uow.record(
            actor,
            "privileged.discovered",
            target(account),
            after={
                "system": key,
                "username": account.username,
                "rights": account.rights,
                "owner": account.owner_employee_id,
                "possibly_stale": account.possibly_stale,
            },
            reason=f"discovery of {key}",
        )


def _rights(held: list[PrivilegedHolding]) -> list[dict[str, Any]]:
    unique = {(h.right, h.kind, h.via): h for h in held}
    return [
        Holding(h.right, h.kind, h.via).as_dict()
        for h in sorted(unique.values(), key=lambda h: (h.right.casefold(), h.via))
    ]


def _refresh(
    uow: UnitOfWork,
    account: PrivilegedAccount,
    held: list[PrivilegedHolding],
    actor: str,
) -> bool:
    """Bring an entry in line with what discovery saw; True if it changed."""
    first = held[0]
    before = {
        "username": account.username,
        "rights": account.rights,
        "enabled": account.enabled,
        "possibly_stale": account.possibly_stale,
        "present": account.present,
    }
    account.username = first.account.username
    account.native_id = first.account.native_id
    account.rights = _rights(held)
    account.enabled = first.enabled
    account.possibly_stale = all(h.possibly_stale for h in held)
    account.present = True
    account.last_seen_at = uow.clock.now()
    after = {k: getattr(account, k) for k in before}
    changed = {k for k in before if before[k] != after[k]}
    if changed:
        account.updated_at = uow.clock.now()
        uow.record(
            actor,
            "privileged.rights_changed",
            target(account),
            before={k: before[k] for k in sorted(changed)},
            after={k: after[k] for k in sorted(changed)},
            reason="discovery",
        )
    return bool(changed)
