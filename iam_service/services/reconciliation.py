"""Drift reconciliation of one system (8.2, 8.3, 5.16, 5.18).

Contract of ``Reconciliation.run(system, apply=..., actor=...)``:

* the system must be configured (404) and approved in the cloud-service
  register (409 ``system_not_approved``, 5.23): its accounts are read only
  through the register-gated connector factory, and only read;
* expected state (the system's accounts we know, each person's effective
  grants of the system's catalogue entitlements) is indexed once; the
  system's accounts are then read page by page (``iter_accounts``) and each
  page compared, decided and written in its own transaction, so memory stays
  flat however large the directory;
* before acting, each page's findings are looked at again against the
  grants and queue as they are now: an entitlement granted (or an operation
  queued) while the run was reading is not drift;
* with ``apply``, unexpected entitlements the policy's ``reconciliation``
  section says to remove are queued as ``REMOVE_FROM_GROUP`` (audited
  ``reconcile.drift_removed``, reason "drift") and missing ones as
  ``ADD_TO_GROUP``; without it nothing is queued (a dry run says what would
  be). Orphans, unlinked accounts and enabled accounts of terminated people
  are reported, and a notice tells the system administrators;
* the run and every finding are stored (``reconcile_runs``,
  ``reconcile_items``); the run is audited.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from connectors.base import AccountState, Connector, ConnectorError
from iam_service.domain.policy import Policy
from iam_service.domain.reconciliation import (
    Finding,
    FindingKind,
    Observed,
    ReconcileRun,
    RunStatus,
    compare,
)
from iam_service.services.errors import NotFoundError, ServiceError
from iam_service.services.lifecycle import LifecycleContext
from iam_service.services.reconcile_decisions import PageOutcome, settle_page
from iam_service.services.reconcile_index import ExpectedIndex, load_index
from iam_service.services.reconcile_report import finish_run
from iam_service.services.unit_of_work import UnitOfWorkFactory

log = logging.getLogger(__name__)
T = TypeVar("T")
PAGE_SIZE = 1000


class SystemUnavailable(ServiceError):
    """The system could not be read; the run is recorded as failed."""

    status_code = 502
    code = "system_unavailable"


class Reconciliation:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        ctx: LifecycleContext,
        connectors: Callable[[str], Connector],
        *,
        page_size: int = PAGE_SIZE,
    ) -> None:
        """``connectors`` is the register-gated factory (``approved_only``)."""
        self.uow_factory = uow_factory
        self.ctx = ctx
        self.connectors = connectors
        self.page_size = page_size

    def run(self, system_key: str, *, apply: bool, actor: str) -> ReconcileRun:
        if not self.ctx.systems.configured(system_key):
            raise NotFoundError(f"no connected system {system_key!r}", field="system")
        connector = self.connectors(system_key)  # 5.23: refuses unapproved ones
        try:
            return self._run(connector, system_key, apply=apply, actor=actor)
        finally:
            connector.close()

    def _run(
        self, connector: Connector, system_key: str, *, apply: bool, actor: str
    ) -> ReconcileRun:
        policy = self.ctx.policy()
        run = self._start(system_key, apply, actor)
        outcome = PageOutcome()
        try:
            with self.uow_factory() as uow:
                index = load_index(uow, system_key, policy, uow.clock.now())
            pages = _chunks(connector.iter_accounts(self.page_size), self.page_size)
            for page in pages:
                findings = _compare_page(page, index, outcome)
                if findings:
                    with self.uow_factory() as uow:
                        settle_page(uow, run, index, findings, policy, outcome, apply)
                        uow.commit()
        except ConnectorError as error:
            self._failed(run, outcome, error)
            raise SystemUnavailable(
                f"reconciliation of {system_key} stopped: {error}"
            ) from error
        except Exception as error:
            self._failed(run, outcome, error)
            raise
        with self.uow_factory() as uow:
            stored = uow.reconcile.get_run(run.id or 0)
            finish_run(uow, stored or run, outcome)
            uow.commit()
            return stored or run

    def _start(self, system_key: str, apply: bool, actor: str) -> ReconcileRun:
        with self.uow_factory() as uow:
            run = ReconcileRun(
                system_key=system_key,
                started_at=uow.clock.now(),
                actor=actor,
                apply=apply,
            )
            uow.reconcile.add_run(run)
            uow.flush()
            uow.record(
                actor,
                "reconcile.started",
                f"system:{system_key}",
                after={"run": run.id, "apply": apply},
            )
            uow.commit()
            return run

    def _failed(
        self, run: ReconcileRun, outcome: PageOutcome, error: Exception
    ) -> None:
        log.warning("reconciliation run %s failed: %s", run.id, error)
        with self.uow_factory() as uow:
            stored = uow.reconcile.get_run(run.id or 0)
            if stored is None:
                return
            stored.status, stored.finished_at = RunStatus.FAILED, uow.clock.now()
            stored.counts = dict(outcome.counts)
            stored.error = f"{type(error).__name__}: {error}"[:2000]
            uow.record(
                stored.actor,
                "reconcile.failed",
                f"system:{stored.system_key}",
                after={"run": stored.id, "error": stored.error, **stored.counts},
            )
            uow.commit()

    def runs(self, system_key: str | None = None) -> list[dict[str, Any]]:
        with self.uow_factory() as uow:
            return [r.view() for r in uow.reconcile.runs(system_key)]

    def get(
        self,
        run_id: int,
        kind: FindingKind | None = None,
        limit: int = 500,
        offset: int = 0,
    ) -> dict[str, Any]:
        with self.uow_factory() as uow:
            run = uow.reconcile.get_run(run_id)
            if run is None:
                raise NotFoundError(f"no reconciliation run {run_id}")
            items = uow.reconcile.items(run_id, kind=kind, limit=limit, offset=offset)
            return run.view() | {"items": [i.view() for i in items]}


def _compare_page(
    page: list[AccountState], index: ExpectedIndex, outcome: PageOutcome
) -> list[Finding]:
    findings: list[Finding] = []
    for state in page:
        observed = Observed(
            native_id=state.ref.native_id,
            username=state.ref.username,
            employee_id=state.employee_id,
            enabled=state.enabled,
            groups=frozenset(g.casefold() for g in state.groups),
        )
        expected = index.expected(observed)
        outcome.count("accounts")
        if expected is not None and expected.account_id in index.busy:
            outcome.count("skipped_busy")
            continue
        known = observed.employee_id in index.employee_ids
        findings += compare(observed, expected, index.managed, known)
    return findings


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def due_systems(
    uow_factory: UnitOfWorkFactory,
    ctx: LifecycleContext,
    approved: Callable[[], frozenset[str]],
) -> list[str]:
    """Configured, approved systems whose last run is older than the
    policy's ``reconciliation.every_hours`` (read from our own table)."""
    policy: Policy = ctx.policy()
    every = policy.reconciliation.every_hours
    keys = sorted(set(ctx.systems.capabilities) & approved())
    due = []
    with uow_factory() as uow:
        now = uow.clock.now()
        for key in keys:
            last = uow.reconcile.last_started(key)
            if last is None or (now - last).total_seconds() >= every * 3600:
                due.append(key)
    return due


def reconcile_due(
    reconciliation: Reconciliation, approved: Callable[[], frozenset[str]]
) -> dict[str, str]:
    """The scheduled job: reconcile (and apply) each system that is due."""
    done: dict[str, str] = {}
    for key in due_systems(reconciliation.uow_factory, reconciliation.ctx, approved):
        try:
            run = reconciliation.run(key, apply=True, actor="scheduler")
            done[key] = f"run {run.id}: {run.counts}"
        except ServiceError as error:
            done[key] = f"failed: {error.message}"
    return done
