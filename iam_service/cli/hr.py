"""``iamctl hr import``: HR events from CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from iam_service.cli.context import CLI_ACTOR, fail, service
from iam_service.services.hr_import import import_csv

hr_app = typer.Typer(help="HR intake.", no_args_is_help=True)


@hr_app.command("import")
def hr_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    dry_run: Annotated[
        bool, typer.Option(help="Check every row; apply nothing.")
    ] = False,
) -> None:
    """Import HR events from CSV. Any bad row means nothing is applied."""
    report = import_csv(
        service().hr_intake,
        file.read_text(encoding="utf-8-sig"),
        actor=CLI_ACTOR,
        dry_run=dry_run,
    )
    for error in report.errors:
        typer.echo(f"{file}:{error}", err=True)
    if report.errors:
        raise fail(
            f"{len(report.errors)} bad row(s) of {report.rows}; nothing was applied"
        )
    verb = "would apply" if dry_run else "applied"
    typer.echo(f"{verb} {report.rows} row(s)")
    for result in report.results:
        typer.echo(
            f"  {result['event_id']}\t{result['type']}\t{result['employee_id']}\t"
            f"{result['status']}\t{result['operations_queued']} operation(s)"
        )
