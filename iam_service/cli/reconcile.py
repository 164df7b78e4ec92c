"""``iamctl reconcile SYSTEM`` and ``iamctl elevations ...``: drift and the
privileged view from the command line."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from iam_service.cli.context import CLI_ACTOR, service
from iam_service.domain.reconciliation import ReconcileRun
from iam_service.services.errors import ServiceError

elevations_app = typer.Typer(
    help="Privileged elevations and break-glass uses (8.2, 8.18).",
    no_args_is_help=True,
)
_SHOWN = 20  # findings printed per run; the rest are in the run's record


def reconcile(
    system: Annotated[str, typer.Argument(help="The system's key, e.g. ad.")],
    apply: Annotated[
        bool,
        typer.Option(
            help="Queue the removals and additions the policy's reconciliation "
            "section asks for; without it, report what would be done."
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Compare SYSTEM's accounts with what policy and grants say: unexpected
    and missing entitlements, orphan accounts, leavers still enabled. Only an
    approved system is read (5.23). Prints a summary; the findings are kept
    (GET /api/v1/reconcile/runs/ID)."""
    container = service()
    try:
        run = container.reconciliation.run(system, apply=apply, actor=CLI_ACTOR)
    except ServiceError as error:
        typer.echo(f"reconcile {system}: {error.message}", err=True)
        raise typer.Exit(1) from None
    found = container.reconciliation.get(run.id or 0, limit=_SHOWN)
    if as_json:
        typer.echo(json.dumps(found, ensure_ascii=False, indent=2))
        return
    _summary(run, found["items"])


def _summary(run: ReconcileRun, items: list[dict[str, object]]) -> None:
    mode = "applied" if run.apply else "dry run (--apply to act)"
    typer.echo(f"reconciliation run {run.id} of {run.system_key}: {mode}")
    for name, count in run.counts.items():
        typer.echo(f"  {name:<20} {count}")
    for item in items:
        what = item["entitlement"] or ""
        typer.echo(
            f"{item['kind']}\t{item['action']}\t{item['username']}\t"
            f"{item['employee_id'] or '-'}\t{what}"
        )
    total = sum(
        run.counts.get(k, 0)
        for k in ("unexpected", "missing", "orphans", "unlinked", "terminated_enabled")
    )
    if total > len(items):
        typer.echo(f"... {total - len(items)} more in run {run.id}")


@elevations_app.command("list")
def elevations_list(
    active: Annotated[bool, typer.Option(help="Only those in force now.")] = False,
    unratified: Annotated[
        bool, typer.Option(help="Only break-glass uses awaiting ratification.")
    ] = False,
) -> None:
    """The privileged view: who holds or held what, until when, and why."""
    for e in service().elevations.find(active=active, unratified=unratified):
        glass = " break-glass" if e["break_glass"] else ""
        typer.echo(
            f"{e['id']}\t{e['status']}{glass}\t{e['employee_id']}\t"
            f"{e['entitlement']}\tuntil {e['expires_at'] or '-'}\t"
            f"ratification {e['ratification'] or '-'}\t{e['reason']}"
        )


@elevations_app.command("escalate")
def elevations_escalate() -> None:
    """Escalate unratified break-glass uses now (the scheduler does it every
    five minutes)."""
    from iam_service.services.elevations import escalate_unratified

    container = service()
    count = escalate_unratified(
        container.uow, container.lifecycle, container.elevations.notifier
    )
    typer.echo(f"{count} escalated")
