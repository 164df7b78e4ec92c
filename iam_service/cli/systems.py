"""``iamctl systems``: the cloud-service register (5.23), its systems and
their approval."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from iam_service.cli.context import CLI_ACTOR, fail, service
from iam_service.domain.model import Classification
from iam_service.domain.register import (
    Actor,
    CheckResult,
    Criterion,
    CriterionCheck,
    SystemRegistration,
    SystemUpdate,
)
from iam_service.domain.security import Role
from iam_service.services.errors import ServiceError

systems_app = typer.Typer(
    help="The cloud-service register (5.23): systems and their approval.",
    no_args_is_help=True,
)


def _register_actor(role: Role) -> Actor:
    # The CLI runs with the service's own database access: it acts in the
    # role the command needs, under the operator's login name (5.3 compares it).
    return Actor(CLI_ACTOR, frozenset({role}))


def _criteria(values: list[str]) -> dict[Criterion, CriterionCheck] | None:
    """``data_location=met`` or ``sso_scim=not_applicable:paper ledger``."""
    if not values:
        return None
    found = {}
    for value in values:
        name, _, rest = value.partition("=")
        result, _, note = rest.partition(":")
        try:
            found[Criterion(name)] = CriterionCheck(
                result=CheckResult(result), note=note
            )
        except ValueError:
            raise typer.BadParameter(
                f"{value!r}: use CRITERION=RESULT[:note] with CRITERION one of "
                f"{', '.join(Criterion)} and RESULT one of {', '.join(CheckResult)}"
            ) from None
    return found


_Criteria = Annotated[
    list[str],
    typer.Option(
        "--criterion", help="CRITERION=RESULT[:note]; repeat for each criterion."
    ),
]


@systems_app.command("list")
def systems_list() -> None:
    """List the register: key, state, classification, name, owner."""
    for r in service().register.systems():
        typer.echo(
            f"{r.key}\t{r.state}\t{r.classification}\t{r.name}\t{r.owner}"
            f"\t{r.decided_by or ''}"
        )


@systems_app.command("sync")
def systems_sync() -> None:
    """Enter the connectors file's systems in the register (new: requested)."""
    container = service(sync_register=False)
    report = container.register.sync(container.connectors_file.systems, actor=CLI_ACTOR)
    for label, keys in (
        ("requested (new)", report.added),
        ("metadata changed", report.changed),
        ("unchanged", report.unchanged),
        ("no longer in the file", report.not_in_file),
    ):
        typer.echo(f"{label}: {', '.join(keys) or '-'}")


@systems_app.command("register")
def systems_register(
    key: Annotated[str, typer.Option()],
    name: Annotated[str, typer.Option()],
    classification: Annotated[Classification, typer.Option()],
    purpose: Annotated[str, typer.Option()],
    owner: Annotated[str, typer.Option()],
    information: Annotated[str, typer.Option(help="What it stores.")] = "",
    kind: str = "manual",
    owner_employee_id: str | None = None,
    vendor_url: str = "",
    criterion: _Criteria = [],  # noqa: B006 - typer reads the default
) -> None:
    """Register a system by hand (e.g. one without an API); it waits for approval."""
    try:
        registration = SystemRegistration(
            key=key,
            name=name,
            kind=kind,
            classification=classification,
            purpose=purpose,
            owner=owner,
            information=information,
            owner_employee_id=owner_employee_id,
            vendor_url=vendor_url,
            criteria=_criteria(criterion),
        )
        service().register.register(registration, _register_actor(Role.SYSADMIN))
    except (ValidationError, ServiceError) as error:
        raise fail(str(error), 2) from None
    typer.echo(f"{key} registered; it waits for approval")


@systems_app.command("update")
def systems_update(
    key: str,
    information: str | None = None,
    owner_employee_id: str | None = None,
    vendor_url: str | None = None,
    criterion: _Criteria = [],  # noqa: B006 - typer reads the default
) -> None:
    """Record what a system stores and which selection criteria it meets."""
    try:
        update = SystemUpdate(
            information=information,
            owner_employee_id=owner_employee_id,
            vendor_url=vendor_url,
            criteria=_criteria(criterion),
        )
        service().register.update(key, update, _register_actor(Role.SYSADMIN))
    except (ValidationError, ServiceError) as error:
        raise fail(str(error), 2) from None
    typer.echo(f"{key} updated")


def _decide(verb: str, key: str, comment: str, role: Role) -> None:
    register = service().register
    action = {
        "approved": register.approve,
        "rejected": register.reject,
        "suspended": register.suspend,
        "resubmitted": register.resubmit,
    }[verb]
    try:
        action(key, _register_actor(role), comment)
    except ServiceError as error:
        raise fail(error.message) from None
    typer.echo(f"{key} {verb}")


_Comment = Annotated[str, typer.Option(help="Why; kept with the decision.")]


@systems_app.command("approve")
def systems_approve(key: str, comment: _Comment) -> None:
    """Approve a system (security officer): its connector may run."""
    _decide("approved", key, comment, Role.SECURITY_OFFICER)


@systems_app.command("reject")
def systems_reject(key: str, comment: _Comment) -> None:
    """Reject a requested system (security officer)."""
    _decide("rejected", key, comment, Role.SECURITY_OFFICER)


@systems_app.command("suspend")
def systems_suspend(key: str, comment: _Comment) -> None:
    """Suspend an approved system (security officer): nothing new runs on it."""
    _decide("suspended", key, comment, Role.SECURITY_OFFICER)


@systems_app.command("resubmit")
def systems_resubmit(key: str, comment: _Comment) -> None:
    """Send a rejected system back for approval (system administrator)."""
    _decide("resubmitted", key, comment, Role.SYSADMIN)


@systems_app.command("export")
def systems_export(
    file: Annotated[Path, typer.Argument(dir_okay=False, writable=True)],
) -> None:
    """Write the register as CSV for the ISMS records (UTF-8 with BOM)."""
    data = service().register.export_csv()
    file.write_bytes(data)
    typer.echo(f"wrote {file}")
