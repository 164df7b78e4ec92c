"""What a reconciliation does about one page of findings, in one transaction.

Drift is confirmed against the grants and the queue as they are now, then
acted on as the policy's ``reconciliation`` section says (see
``services/reconciliation.py`` for the whole contract).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from iam_service.domain.operations import Operation, OperationKind, Priority
from iam_service.domain.policy import Policy
from iam_service.domain.reconciliation import (
    Expected,
    Finding,
    FindingAction,
    FindingKind,
    ReconcileItem,
    ReconcileRun,
)
from iam_service.services.reconcile_index import ExpectedIndex, current_keys
from iam_service.services.unit_of_work import UnitOfWork

SAMPLE = 10  # names kept per kind for the notice
_DRIFT = (FindingKind.UNEXPECTED, FindingKind.MISSING)
_COUNTED = {
    FindingKind.UNEXPECTED: "unexpected",
    FindingKind.MISSING: "missing",
    FindingKind.ORPHAN: "orphans",
    FindingKind.UNLINKED: "unlinked",
    FindingKind.TERMINATED_ENABLED: "terminated_enabled",
}


@dataclass
class PageOutcome:
    """Counts over the whole run, and a few names per kind for the notice."""

    counts: Counter[str] = field(default_factory=Counter)
    samples: dict[str, list[str]] = field(default_factory=dict)

    def count(self, name: str, n: int = 1) -> None:
        self.counts[name] += n

    def sample(self, kind: FindingKind, name: str) -> None:
        names = self.samples.setdefault(str(kind), [])
        if len(names) < SAMPLE:
            names.append(name)


def settle_page(
    uow: UnitOfWork,
    run: ReconcileRun,
    index: ExpectedIndex,
    findings: list[Finding],
    policy: Policy,
    outcome: PageOutcome,
    apply: bool,
) -> None:
    """Confirm, act on and store one page's findings."""
    now = uow.clock.now()
    drift = [f for f in findings if f.kind in _DRIFT and f.expected is not None]
    people = {f.expected.person_id for f in drift if f.expected is not None}
    accounts = {f.expected.account_id for f in drift if f.expected is not None}
    current = current_keys(uow, index, people, now) if people else {}
    busy = (
        uow.reconcile.busy_accounts(index.system_key, accounts) if accounts else set()
    )
    items = []
    for finding in findings:
        if finding.kind in _DRIFT and not _still_drift(finding, current, busy):
            outcome.count("resolved_meanwhile")
            continue
        outcome.count(_COUNTED[finding.kind])
        outcome.sample(finding.kind, _label(finding, index))
        items.append(_act(uow, run, index, finding, policy, outcome, apply))
    uow.reconcile.add_items(items)


def _label(finding: Finding, index: ExpectedIndex) -> str:
    """How a finding reads in the notice: who, and what."""
    observed, expected = finding.observed, finding.expected
    who = observed.username
    if expected is not None:
        who = f"{who} ({expected.employee_id})"
    if finding.key is not None:
        who = f"{who} {index.ref(finding.key)}"
    return who


def _still_drift(
    finding: Finding, current: dict[int, set[str]], busy: set[int]
) -> bool:
    expected = finding.expected
    if expected is None or expected.account_id in busy:
        return False
    wanted = finding.key in current.get(expected.person_id, set())
    return not wanted if finding.kind is FindingKind.UNEXPECTED else wanted


def _act(
    uow: UnitOfWork,
    run: ReconcileRun,
    index: ExpectedIndex,
    finding: Finding,
    policy: Policy,
    outcome: PageOutcome,
    apply: bool,
) -> ReconcileItem:
    ref = index.ref(finding.key) if finding.key is not None else None
    expected = finding.expected
    item = ReconcileItem(
        run_id=run.id or 0,
        kind=finding.kind,
        action=FindingAction.REPORTED,
        username=finding.observed.username,
        native_id=finding.observed.native_id,
        employee_id=expected.employee_id if expected else finding.observed.employee_id,
        entitlement_ref=ref,
        account_id=expected.account_id if expected else None,
    )
    if ref is None or expected is None:
        return item
    rules = policy.reconciliation
    if finding.kind is FindingKind.UNEXPECTED and rules.removes(ref):
        if not apply:
            item.action = FindingAction.WOULD_REMOVE
            return item
        item.action = FindingAction.REMOVAL_QUEUED
        kind, action = OperationKind.REMOVE_FROM_GROUP, "reconcile.drift_removed"
    elif finding.kind is FindingKind.MISSING and rules.reprovisions(ref):
        if not apply:
            item.action = FindingAction.WOULD_ADD
            return item
        item.action = FindingAction.ADDITION_QUEUED
        kind, action = OperationKind.ADD_TO_GROUP, "reconcile.missing_restored"
    else:
        return item
    definition = policy.entitlement(ref)
    privileged = definition is not None and definition.privileged
    operation = _queue(uow, run, index.system_key, expected, kind, ref, privileged)
    item.operation_id = operation.id
    removal = kind is OperationKind.REMOVE_FROM_GROUP
    outcome.count("removals_queued" if removal else "additions_queued")
    uow.record(
        run.actor,
        action,
        f"account:{index.system_key}:{item.account_id}",
        after={
            "username": item.username,
            "employee_id": item.employee_id,
            "entitlement": ref,
            "run": run.id,
            "operation": item.operation_id,
        },
        reason="drift" if removal else "drift: missing",
    )
    return item


def _queue(
    uow: UnitOfWork,
    run: ReconcileRun,
    system_key: str,
    expected: Expected,
    kind: OperationKind,
    ref: str,
    privileged: bool,
) -> Operation:
    key = ref.split(":", 1)[1]
    operation = uow.enqueue(
        Operation(
            idempotency_key=f"reconcile:{run.id}:{kind}:{expected.account_id}:{key}",
            system_key=system_key,
            account_key=f"{system_key}:{expected.account_id}",
            kind=kind,
            payload={"group": key},
            # 8.2: an unapproved privileged membership goes first.
            priority=Priority.ELEVATED if privileged else Priority.NORMAL,
            account_id=expected.account_id,
            person_id=expected.person_id,
            cause=f"reconcile:{run.id}",
        )
    )
    uow.flush()
    return operation
