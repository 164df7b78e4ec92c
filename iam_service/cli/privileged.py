"""``iamctl privileged ...``: the privileged-account inventory (8.2) and
handovers with password rotation (5.18) from the command line. The CLI acts
in the role a command needs under the operator's login name, like ``iamctl
systems``; it never prints a password: recipients see rotated passwords
once, in the console.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from iam_service.cli.context import CLI_ACTOR
from iam_service.cli.context import service as _service  # `register` has --service
from iam_service.domain.privileged import OwnerKind
from iam_service.domain.privileged_requests import (
    ApprovalCreate,
    CustodianChange,
    HandoverCreate,
    ManualAccountCreate,
    OwnerUpdate,
    RotationCreate,
)
from iam_service.domain.security import Role
from iam_service.services.auth import Principal
from iam_service.services.errors import ServiceError

privileged_app = typer.Typer(
    help="Privileged accounts: discovery, inventory, handovers (8.2, 5.18).",
    no_args_is_help=True,
)


def _who(role: Role) -> Principal:
    return Principal(CLI_ACTOR.removeprefix("cli:"), frozenset({role}), kind="cli")


def _refused(error: ServiceError) -> typer.Exit:
    typer.echo(f"refused ({error.code}): {error.message}", err=True)
    return typer.Exit(1)


def _print(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


@privileged_app.command("discover")
def discover(
    system: Annotated[
        str | None, typer.Argument(help="A system key; all approved ones if left out.")
    ] = None,
) -> None:
    """Read who holds privileged rights in SYSTEM (AD groups direct and
    nested, adminCount, Entra roles, SaaS admin roles). Only approved
    systems are read (5.23)."""
    try:
        reports = _service().privileged.discovery.discover(
            system, actor=_who(Role.SYSADMIN).actor
        )
    except ServiceError as error:
        raise _refused(error) from None
    for r in reports:
        state = f"error: {r.error}" if r.error else f"{r.found} accounts"
        typer.echo(
            f"{r.system}\t{state}\tnew {len(r.added)}\tchanged {len(r.changed)}"
            f"\tgone {len(r.gone)}"
        )
    if any(r.error for r in reports):
        raise typer.Exit(1)


@privileged_app.command("list")
def list_accounts(
    flagged: Annotated[bool, typer.Option(help="Only flagged accounts.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The inventory: id, system, account, rights, owner, flags."""
    found = _service().privileged.inventory.accounts(flagged_only=flagged)
    if as_json:
        _print(found)
        return
    for a in found:
        owner = (a["owner"]["person"] or {}).get("employee_id") or "-"
        typer.echo(
            f"{a['id']}\t{a['system']}\t{a['username']}\t{'; '.join(a['rights'])}"
            f"\t{owner}\t{','.join(a['flags']) or 'ok'}"
        )


@privileged_app.command("export")
def export(
    path: Annotated[Path, typer.Argument(help="The CSV file to write.")],
) -> None:
    """The inventory as CSV for the ISMS records (UTF-8 with BOM)."""
    path.write_bytes(_service().privileged.inventory.export_csv())
    typer.echo(f"written: {path}")


@privileged_app.command("register")
def register(
    system: Annotated[str, typer.Option(help="A manual system's key.")],
    username: Annotated[str, typer.Option(help="The admin account's name.")],
    description: Annotated[str, typer.Option()] = "",
    owner: Annotated[
        str | None, typer.Option(help="Employee id of the responsible person.")
    ] = None,
    service: Annotated[
        str | None, typer.Option(help="The service the account belongs to.")
    ] = None,
    custodian: Annotated[
        list[str] | None, typer.Option(help="Who knows the password; repeat.")
    ] = None,
) -> None:
    """Register an admin account of a system with no API (a file server's
    local Administrator, a switch, a BIOS): kind manual in the register."""
    owner_body = None
    if owner:
        kind = OwnerKind.SERVICE if service else OwnerKind.PERSON
        owner_body = OwnerUpdate(kind=kind, employee_id=owner, service_name=service)
    body = ManualAccountCreate(
        system_key=system,
        username=username,
        description=description,
        owner=owner_body,
        custodians=tuple(custodian or ()),
    )
    try:
        view = _service().privileged.inventory.register_manual(
            body, _who(Role.SYSADMIN)
        )
    except ServiceError as error:
        raise _refused(error) from None
    typer.echo(f"registered: {view['id']}\t{view['system']}\t{view['username']}")


@privileged_app.command("custodian")
def custodian(
    account_id: int,
    employee_id: str,
    remove: Annotated[bool, typer.Option(help="End the custodianship.")] = False,
    reason: Annotated[str, typer.Option()] = "",
) -> None:
    """Add (or --remove) a custodian of an inventory account."""
    body = CustodianChange(employee_id=employee_id, reason=reason)
    inventory = _service().privileged.inventory
    change = inventory.remove_custodian if remove else inventory.add_custodian
    try:
        view = change(account_id, body, _who(Role.SYSADMIN))
    except ServiceError as error:
        raise _refused(error) from None
    names = ", ".join(c["employee_id"] for c in view["custodians"]) or "none"
    typer.echo(f"custodians of {view['username']}: {names}")


@privileged_app.command("approve")
def approve(
    account_id: int,
    reason: Annotated[str, typer.Option(help="Why it is allowed (8.2).")],
    authorisation: Annotated[str, typer.Option(help="The authorising record.")] = "",
) -> None:
    """Record the approval that allows an inventory account (8.2)."""
    body = ApprovalCreate(reason=reason, authorisation=authorisation)
    try:
        view = _service().privileged.inventory.approve(
            account_id, body, _who(Role.SYSADMIN)
        )
    except ServiceError as error:
        raise _refused(error) from None
    typer.echo(
        f"approved: {view['username']}\tflags: {','.join(view['flags']) or 'ok'}"
    )


@privileged_app.command("handover")
def handover(
    outgoing: Annotated[str, typer.Argument(help="The outgoing custodian.")],
    successor: Annotated[str, typer.Argument(help="Who takes over.")],
    reason: Annotated[str, typer.Option()] = "",
) -> None:
    """Hand OUTGOING's privileged accounts to SUCCESSOR and change every
    password (5.18). The successor sees each once, in the console."""
    body = HandoverCreate(
        outgoing_employee_id=outgoing, successor_employee_id=successor, reason=reason
    )
    try:
        view = _service().privileged.handovers.start(body, _who(Role.SECURITY_OFFICER))
    except ServiceError as error:
        raise _refused(error) from None
    typer.echo(f"handover {view['id']}: {len(view['rotations'])} rotation(s) queued")


@privileged_app.command("rotate")
def rotate(
    account_id: int,
    recipient: Annotated[
        str | None, typer.Option(help="Who sees the new password (default: custodian).")
    ] = None,
    reason: Annotated[str, typer.Option()] = "",
) -> None:
    """Change one inventory account's password now, through the queue."""
    body = RotationCreate(recipient_employee_id=recipient, reason=reason)
    try:
        view = _service().privileged.handovers.rotate_account(
            account_id, body, _who(Role.SECURITY_OFFICER)
        )
    except ServiceError as error:
        raise _refused(error) from None
    typer.echo(f"handover {view['id']}: rotation queued for {view['successor']}")
