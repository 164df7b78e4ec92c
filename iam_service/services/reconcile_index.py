"""The expected state of one system, indexed once per reconciliation run.

Loaded from streamed rows into a compact form: one small frozen record per
account we know, keyed by native id and by (case-folded) user name, whose
entitlement sets are shared between the many people holding the same ones.
100,000 accounts take a few tens of megabytes; the system's own accounts
are then read page by page against it, never all at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from iam_service.domain.model import PersonStatus
from iam_service.domain.policy import Policy
from iam_service.domain.reconciliation import Expected, Observed
from iam_service.services.unit_of_work import UnitOfWork

_NONE: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ExpectedIndex:
    system_key: str
    managed: dict[str, str]  # case-folded entitlement key -> ref
    by_native_id: dict[str, Expected]
    by_username: dict[str, Expected]
    employee_ids: frozenset[str]
    busy: frozenset[int]  # accounts with operations still to run

    def expected(self, observed: Observed) -> Expected | None:
        found = self.by_native_id.get(observed.native_id)
        if found is None:
            found = self.by_username.get(observed.username.casefold())
        return found

    def ref(self, key: str) -> str:
        return self.managed[key]

    @property
    def refs(self) -> list[str]:
        return sorted(self.managed.values())


def managed_entitlements(policy: Policy, system_key: str) -> dict[str, str]:
    """The catalogue's entitlements of the system: case-folded key -> ref.
    Groups the catalogue does not name are not the service's to judge."""
    return {
        e.key.casefold(): e.ref
        for e in policy.entitlements
        if e.system_key == system_key
    }


def load_index(
    uow: UnitOfWork, system_key: str, policy: Policy, now: datetime
) -> ExpectedIndex:
    managed = managed_entitlements(policy, system_key)
    groups = _groups_by_person(uow, managed, now)
    by_native: dict[str, Expected] = {}
    by_username: dict[str, Expected] = {}
    for (
        account_id,
        person_id,
        employee_id,
        status,
        username,
        native,
    ) in uow.reconcile.accounts(system_key):
        expected = Expected(
            account_id=account_id,
            person_id=person_id,
            employee_id=employee_id,
            terminated=status == PersonStatus.TERMINATED,
            groups=groups.get(person_id, _NONE),
        )
        if native:
            by_native[native] = expected
        by_username[username.casefold()] = expected
    return ExpectedIndex(
        system_key=system_key,
        managed=managed,
        by_native_id=by_native,
        by_username=by_username,
        employee_ids=frozenset(uow.reconcile.employee_ids()),
        busy=frozenset(uow.reconcile.busy_accounts(system_key)),
    )


def _groups_by_person(
    uow: UnitOfWork, managed: dict[str, str], now: datetime
) -> dict[int, frozenset[str]]:
    """Each person's expected keys, folded from rows ordered by person;
    equal sets are one shared object (most people share a few)."""
    key_of = {ref: key for key, ref in managed.items()}
    shared: dict[frozenset[str], frozenset[str]] = {}
    result: dict[int, frozenset[str]] = {}
    current: int | None = None
    keys: set[str] = set()
    for person_id, ref in uow.reconcile.effective_grants(key_of, now):
        if person_id != current:
            if current is not None:
                result[current] = _shared(shared, keys)
            current, keys = person_id, set()
        keys.add(key_of[ref])
    if current is not None:
        result[current] = _shared(shared, keys)
    return result


def _shared(
    pool: dict[frozenset[str], frozenset[str]], keys: set[str]
) -> frozenset[str]:
    frozen = frozenset(keys)
    return pool.setdefault(frozen, frozen)


def current_keys(
    uow: UnitOfWork, index: ExpectedIndex, person_ids: set[int], now: datetime
) -> dict[int, set[str]]:
    """The persons' expected keys as they are now (a page's second look)."""
    key_of = {ref: key for key, ref in index.managed.items()}
    found: dict[int, set[str]] = {p: set() for p in person_ids}
    for person_id, ref in uow.reconcile.effective_grants(key_of, now, person_ids):
        found[person_id].add(key_of[ref])
    return found
