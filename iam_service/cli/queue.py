"""``iamctl ops`` (the operation queue) and ``iamctl audit`` (the audit
trail's hash chain)."""

from __future__ import annotations

from typing import Annotated

import typer

from iam_service.cli.context import CLI_ACTOR, fail, service
from iam_service.domain.operations import OperationStatus
from iam_service.services import audit_trail
from iam_service.services.register_gate import waiting_notes

ops_app = typer.Typer(help="The operation queue.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)


@ops_app.command("list")
def ops_list(
    dead: Annotated[bool, typer.Option(help="Only operations parked as dead.")] = False,
    status: Annotated[OperationStatus | None, typer.Option()] = None,
    limit: int = 100,
) -> None:
    """List operations, newest first."""
    wanted = OperationStatus.DEAD if dead else status
    with service().uow() as uow:
        rows = uow.operations.list(wanted, limit)
        pending = {o.system_key for o in rows if o.status is OperationStatus.PENDING}
        waiting = waiting_notes(uow, pending)  # 5.23: not approved yet
        for op in rows:
            note = waiting.get(op.system_key) if op.status == "pending" else None
            typer.echo(
                f"{op.id}\t{op.status}\t{op.system_key}\t{op.kind}\tattempts={op.attempts}"
                f"\t{op.cause or ''}\t{note or op.last_error or ''}"
            )
        if not rows:
            typer.echo("no operations" + (" are dead" if dead else ""))


@ops_app.command("retry")
def ops_retry(operation_id: int) -> None:
    """Queue a dead operation again."""
    if service().queue.retry_dead(operation_id, CLI_ACTOR) is None:
        raise fail(f"operation {operation_id} is not dead")
    typer.echo(f"operation {operation_id} queued again")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the hash chain; every edited or deleted record is reported."""
    report = audit_trail.verify(service().uow)
    for problem in report.breaks:
        typer.echo(f"record {problem.seq}: {problem.problem}", err=True)
    if not report.ok:
        raise fail(
            f"audit trail BROKEN: {len(report.breaks)} problem(s) in "
            f"{report.checked} records"
        )
    typer.echo(
        f"audit trail intact: {report.checked} records, head {report.last_hash[:16]}"
    )
