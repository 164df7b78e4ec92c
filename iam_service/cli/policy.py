"""``iamctl policy``: check the policy files, plan a new version, activate
and approve it (8.32)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from iam_service.adapters.policy_files import (
    PolicyError,
    load_policy,
    read_policy_files,
)
from iam_service.cli.context import CLI_ACTOR, fail, service
from iam_service.domain.security import Role
from iam_service.services.errors import ServiceError
from iam_service.services.policy_versions import PolicyInvalid
from iam_service.settings import REPO_ROOT

policy_app = typer.Typer(help="The access policy files.", no_args_is_help=True)


@policy_app.command("check")
def policy_check(
    directory: Annotated[Path | None, typer.Argument(file_okay=False)] = None,
) -> None:
    """Validate the policy files; errors name the file and line."""
    # Checking files needs no secrets: do not require the full settings.
    default = os.environ.get("IAM_POLICY_DIR", str(REPO_ROOT / "policies"))
    directory = directory or Path(default)
    try:
        policy = load_policy(directory)
    except PolicyError as error:
        for problem in error.problems:
            typer.echo(str(problem), err=True)
        raise fail(f"{len(error.problems)} problem(s) in {directory}") from None
    typer.echo(
        f"{directory}: {len(policy.entitlements)} entitlements, {len(policy.roles)} "
        f"roles, {len(policy.departments)} departments, "
        f"{len(policy.birthright)} birthright rules: OK"
    )


def _policy_files(directory: Path) -> dict[str, str]:
    try:
        return read_policy_files(directory)
    except PolicyError as error:
        raise fail(str(error)) from None


def _print_problems(error: PolicyInvalid) -> typer.Exit:
    for problem in error.problems:
        typer.echo(problem, err=True)
    return fail(f"{len(error.problems)} problem(s); nothing was changed")


@policy_app.command("plan")
def policy_plan(
    directory: Annotated[Path, typer.Argument(exists=True, file_okay=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show what would be granted and removed, for everyone, if DIRECTORY
    became the active policy (8.32). Changes nothing."""
    container = service()
    try:
        plan = container.policy_versions.plan(_policy_files(directory))
    except PolicyInvalid as error:
        raise _print_problems(error) from None
    limit = container.policy().settings.removal_share_needing_security_officer
    header = {
        "active_version": container.policy.version_id,
        "needs_security_officer": plan.removal_share > limit,
        "removal_share_limit": limit,
    }
    if as_json:
        typer.echo(json.dumps(header | plan.as_dict(), ensure_ascii=False, indent=2))
        return
    active = header["active_version"]
    typer.echo(
        f"{directory} against the active policy "
        f"({f'version {active}' if active else 'the policy files'}):"
    )
    typer.echo(
        f"population {plan.population}; {len(plan.changes)} change; "
        f"{plan.people_losing_access} lose access ({plan.removal_share:.1%}; "
        f"more than {limit:.1%} needs the security officer)"
    )
    for ref, counts in plan.by_entitlement.items():
        typer.echo(f"  {ref}\t+{counts['granted']}\t-{counts['removed']}")
    for change in plan.changes:
        parts = [f"+{r}" for r in change.granted] + [f"-{r}" for r in change.removed]
        parts += [f"account:{s}" for s in change.new_accounts]
        parts += [f"SoD:{r}" for r in change.conflicts]
        typer.echo(f"{change.employee_id}\t{' '.join(parts)}")


@policy_app.command("activate")
def policy_activate(
    directory: Annotated[Path, typer.Argument(exists=True, file_okay=False)],
    approver: Annotated[str, typer.Option(help="Who approved the change.")],
    role: Annotated[
        Role, typer.Option(help="The approver's role: sysadmin or security_officer.")
    ] = Role.SYSADMIN,
    reason: Annotated[str, typer.Option(help="Why; kept with the version.")] = "",
) -> None:
    """Record DIRECTORY as a policy version approved by APPROVER and apply
    it to everyone through the queue. A version removing access from more
    than the policy's share of people needs the security officer: it is
    kept as proposed (exit code 3) for `iamctl policy approve`."""
    container = service()
    versions = container.policy_versions
    try:
        proposal = versions.propose(
            _policy_files(directory), actor=CLI_ACTOR, reason=reason
        )
        version = proposal.version
        if version.needs_security_officer and role is not Role.SECURITY_OFFICER:
            typer.echo(
                f"policy version {version.id} removes access from "
                f"{proposal.plan.removal_share:.1%} of the people; it waits for "
                f"the security officer: iamctl policy approve {version.id} "
                "--approver NAME"
            )
            raise typer.Exit(3)
        versions.activate(
            version.id or 0, approver=approver, roles=frozenset({role}), reason=reason
        )
    except PolicyInvalid as error:
        raise _print_problems(error) from None
    except ServiceError as error:
        raise fail(error.message) from None
    typer.echo(f"policy version {version.id} is active (approved by {approver})")


@policy_app.command("approve")
def policy_approve(
    version_id: int,
    approver: Annotated[str, typer.Option(help="The security officer approving.")],
    reason: Annotated[str, typer.Option(help="Why; kept with the version.")] = "",
) -> None:
    """Approve and activate a proposed version as the security officer."""
    try:
        service().policy_versions.activate(
            version_id,
            approver=approver,
            roles=frozenset({Role.SECURITY_OFFICER}),
            reason=reason,
        )
    except ServiceError as error:
        raise fail(error.message) from None
    typer.echo(f"policy version {version_id} is active (approved by {approver})")


@policy_app.command("versions")
def policy_versions() -> None:
    """List policy versions, newest first."""
    for v in service().policy_versions.versions():
        diff = v.diff
        typer.echo(
            f"{v.id}\t{v.state}\t{v.content_hash[:12]}\t{v.proposed_by}\t"
            f"{v.approved_by or '-'}\t{v.proposed_at:%Y-%m-%d %H:%M}\t"
            f"+{diff.get('grants_added', 0)} -{diff.get('grants_removed', 0)}"
        )
