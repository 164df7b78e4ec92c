"""The end of a reconciliation run: its counts, its audit record, and the
notice that tells the system administrators what needs a human (accounts of
nobody, accounts we do not know, leavers still enabled, drift left alone)."""

from __future__ import annotations

from iam_service.domain.reconciliation import ReconcileRun, RunStatus
from iam_service.domain.records import Notice
from iam_service.domain.security import Role
from iam_service.services.reconcile_decisions import PageOutcome
from iam_service.services.unit_of_work import UnitOfWork

COUNTS = (
    "accounts",
    "unexpected",
    "missing",
    "orphans",
    "unlinked",
    "terminated_enabled",
    "removals_queued",
    "additions_queued",
    "skipped_busy",
    "resolved_meanwhile",
)
_FOR_HUMANS = {
    "orphan": "accounts of nobody (orphans)",
    "unlinked": "accounts the service does not know, of people it does",
    "terminated_enabled": "enabled accounts of people who left",
    "unexpected": "entitlements held without a grant",
}


def finish_run(uow: UnitOfWork, run: ReconcileRun, outcome: PageOutcome) -> None:
    run.counts = {name: int(outcome.counts.get(name, 0)) for name in COUNTS}
    run.status, run.finished_at = RunStatus.SUCCEEDED, uow.clock.now()
    uow.record(
        run.actor,
        "reconcile.completed",
        f"system:{run.system_key}",
        after={"run": run.id, "apply": run.apply, **run.counts},
    )
    left = _left_for_humans(run)
    if not left:
        return
    lines = []
    for kind, count in left.items():
        names = ", ".join(outcome.samples.get(kind, []))
        more = " ..." if count > len(outcome.samples.get(kind, [])) else ""
        lines.append(f"{count} {_FOR_HUMANS[kind]}: {names}{more}")
    uow.notices.add(
        Notice(
            kind="reconcile_findings",
            subject=f"system:{run.system_key}",
            detail=(
                f"Reconciliation run {run.id} of {run.system_key} found: "
                + "; ".join(lines)
                + f". See GET /api/v1/reconcile/runs/{run.id}."
            ),
            audience=Role.SYSADMIN,
            created_at=uow.clock.now(),
        )
    )


def _left_for_humans(run: ReconcileRun) -> dict[str, int]:
    counts = run.counts
    left = {
        "orphan": counts["orphans"],
        "unlinked": counts["unlinked"],
        "terminated_enabled": counts["terminated_enabled"],
        # Unexpected rights nobody removes (report-only, or a dry run).
        "unexpected": counts["unexpected"] - counts["removals_queued"],
    }
    return {kind: n for kind, n in left.items() if n > 0}
