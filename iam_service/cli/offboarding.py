"""``iamctl assets ...`` and ``iamctl offboarding ...``: the asset register
and offboarding cases from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from iam_service.cli.context import CLI_ACTOR, fail, service
from iam_service.domain.offboarding import CaseStatus
from iam_service.services.asset_import import export_csv, import_csv
from iam_service.services.errors import ServiceError

assets_app = typer.Typer(
    help="The asset register (5.9): laptops, phones, security cards, media.",
    no_args_is_help=True,
)
offboarding_app = typer.Typer(
    help="Offboarding cases (5.11, 5.18) and their reports.", no_args_is_help=True
)


@assets_app.command("import")
def assets_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    dry_run: Annotated[
        bool, typer.Option(help="Check every row; register nothing.")
    ] = False,
) -> None:
    """Register assets from CSV (UTF-8). Any bad row means nothing is
    registered; each bad row is named with its line."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise fail(f"{file}: not UTF-8") from None
    report = import_csv(service().uow, text, actor=CLI_ACTOR, dry_run=dry_run)
    for error in report.errors:
        typer.echo(f"{file}:{error}", err=True)
    if report.errors:
        raise fail(
            f"{len(report.errors)} bad row(s) of {report.rows}; nothing was registered"
        )
    verb = "would register" if dry_run else "registered"
    typer.echo(f"{verb} {report.rows} asset(s): {', '.join(report.created)}")


@assets_app.command("export")
def assets_export(
    file: Annotated[Path, typer.Argument(dir_okay=False, writable=True)],
) -> None:
    """Write the register as CSV (UTF-8 with BOM; it imports again)."""
    file.write_bytes(export_csv(service().uow))
    typer.echo(f"wrote {file}")


@assets_app.command("list")
def assets_list(
    holder: Annotated[str | None, typer.Option(help="Employee id.")] = None,
) -> None:
    """List assets: tag, type, state, holder, description."""
    try:
        found = service().offboarding.assets.find(holder=holder, limit=100_000)
    except ServiceError as error:
        raise fail(error.message) from None
    for a in found:
        who = (a["holder"] or {}).get("employee_id") or "-"
        typer.echo(f"{a['tag']}\t{a['type']}\t{a['state']}\t{who}\t{a['description']}")


@offboarding_app.command("list")
def offboarding_list(
    status: Annotated[
        CaseStatus | None, typer.Option(help="open, closed or cancelled.")
    ] = CaseStatus.OPEN,
) -> None:
    """List cases: id, employee, department, status, age, outstanding."""
    for c in service().offboarding.cases.find(status=status, limit=100_000):
        typer.echo(
            f"{c['id']}\t{c['employee_id']}\t{c['name']}\t{c['department']}\t"
            f"{c['status']}\t{c['age_days']}d\t{c['outstanding']} outstanding"
        )


@offboarding_app.command("show")
def offboarding_show(case_id: int) -> None:
    """Show one case as JSON: accounts as verified, checklist, outstanding."""
    try:
        case = service().offboarding.cases.get(case_id)
    except ServiceError as error:
        raise fail(error.message) from None
    typer.echo(json.dumps(case, ensure_ascii=False, indent=2))


@offboarding_app.command("report")
def offboarding_report(
    name: Annotated[
        str, typer.Argument(help="outstanding-assets, open-cases, timings")
    ],
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Write CSV here instead of JSON.")
    ] = None,
) -> None:
    """Print a report as JSON, or write it as CSV."""
    try:
        report = service().offboarding.reports.report(name)
    except ServiceError as error:
        raise fail(error.message) from None
    if csv_file is not None:
        csv_file.write_bytes(report.csv())
        typer.echo(f"wrote {csv_file} ({len(report.rows)} row(s))")
        return
    body: dict[str, Any] = report.as_dict()
    typer.echo(json.dumps(body, ensure_ascii=False, indent=2))
