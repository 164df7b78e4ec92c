"""Who may act: ``iamctl token`` (API tokens for machines), ``iamctl user``
(break-glass administrators) and ``iamctl roles`` (console roles)."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer

from iam_service.cli.context import CLI_ACTOR, fail, service
from iam_service.domain.security import Role
from iam_service.services.auth import Principal
from iam_service.services.errors import ServiceError

token_app = typer.Typer(
    help="API tokens for machines (HR systems, scripts).", no_args_is_help=True
)
user_app = typer.Typer(
    help="Local (break-glass) administrator accounts.", no_args_is_help=True
)
roles_app = typer.Typer(
    help="Console roles: HR, sysadmin, security officer, auditor (ADR 0013).",
    no_args_is_help=True,
)


def _operator(granted_by: str | None) -> Principal:
    # The operator at the server; --by names the person acting, so that
    # nobody grants a role to themselves (5.3).
    return Principal(
        getpass.getuser(),
        frozenset({Role.SECURITY_OFFICER}),
        employee_id=granted_by,
        kind="cli",
    )


_By = Annotated[
    str | None, typer.Option("--by", help="Your employee id (recorded; 5.3).")
]
_Reason = Annotated[str, typer.Option(help="Why (kept in the audit trail).")]


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Option()],
    role: Annotated[Role, typer.Option()],
    employee_id: Annotated[
        str | None, typer.Option(help="The person it acts for (5.3 checks).")
    ] = None,
) -> None:
    """Create a token; it is printed once and only its hash is kept."""
    try:
        token = service().auth.create_token(
            name, role, actor=CLI_ACTOR, employee_id=employee_id
        )
    except ServiceError as error:
        raise fail(error.message) from None
    typer.echo(token)


@token_app.command("list")
def token_list() -> None:
    """List tokens (never their values)."""
    with service().uow() as uow:
        for t in uow.tokens.all():
            state = "revoked" if t.revoked_at else "active"
            typer.echo(
                f"{t.name}\t{t.role}\tiam_{t.prefix}_…\t{state}\t{t.created_at:%Y-%m-%d}"
            )


@token_app.command("revoke")
def token_revoke(name: str) -> None:
    if not service().auth.revoke_token(name, actor=CLI_ACTOR):
        raise fail(f"no active token named {name!r}")
    typer.echo(f"revoked {name}")


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Option()],
    role: Annotated[list[Role], typer.Option(help="Repeat for several roles.")],
    employee_id: Annotated[str | None, typer.Option()] = None,
    password_stdin: Annotated[
        bool, typer.Option(help="Read the password from stdin.")
    ] = False,
) -> None:
    """Create a local administrator (argon2-hashed password)."""
    password = (
        sys.stdin.readline().rstrip("\n")
        if password_stdin
        else typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    )
    try:
        service().auth.create_local_user(
            username, password, role, actor=CLI_ACTOR, employee_id=employee_id
        )
    except ServiceError as error:
        raise fail(error.message) from None
    typer.echo(f"created {username}")


@user_app.command("totp-reset")
def user_totp_reset(username: str, reason: _Reason) -> None:
    """Forget a break-glass account's TOTP; its next sign-in enrols anew."""
    try:
        service().console.local.reset_totp(username, actor=CLI_ACTOR, reason=reason)
    except ServiceError as error:
        raise fail(error.message) from None
    typer.echo(f"{username} enrols a new authenticator at the next sign-in")


@user_app.command("unlock")
def user_unlock(username: str, reason: _Reason) -> None:
    """Lift a sign-in lockout before it runs out."""
    try:
        service().console.local.unlock(username, actor=CLI_ACTOR, reason=reason)
    except ServiceError as error:
        raise fail(error.message) from None
    typer.echo(f"{username} is unlocked")


@roles_app.command("grant")
def roles_grant(employee_id: str, role: Role, reason: _Reason, by: _By = None) -> None:
    """Give a person a console role (also makes the first security officer)."""
    try:
        service().console.roles.grant(employee_id, role, _operator(by), reason)
    except ServiceError as error:
        raise fail(error.message) from None
    typer.echo(f"{employee_id} now holds {role}")


@roles_app.command("revoke")
def roles_revoke(employee_id: str, role: Role, reason: _Reason, by: _By = None) -> None:
    """Take a console role away; it ends at the person's next request."""
    try:
        service().console.roles.revoke(employee_id, role, _operator(by), reason)
    except ServiceError as error:
        raise fail(error.message) from None
    typer.echo(f"{employee_id} no longer holds {role}")


@roles_app.command("list")
def roles_list() -> None:
    """Who holds which console role (department heads: see departments)."""
    for a in service().console.roles.list():
        typer.echo(
            f"{a['employee_id']:<16} {a['role']:<18} {a['granted_at'][:19]}  "
            f"{a['granted_by']}  {a['reason']}"
        )
