"""``iamctl``: the one command line for operators."""

from __future__ import annotations

import getpass
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from iam_service.adapters.database import upgrade
from iam_service.adapters.policy_files import (
    PolicyError,
    load_policy,
    read_policy_files,
)
from iam_service.bootstrap import Container, bootstrap
from iam_service.cli_offboarding import assets_app, offboarding_app
from iam_service.cli_privileged import privileged_app
from iam_service.cli_reconcile import elevations_app, reconcile
from iam_service.cli_reviews import build_reviews_app
from iam_service.domain.model import Classification
from iam_service.domain.operations import OperationStatus
from iam_service.domain.register import (
    Actor,
    CheckResult,
    Criterion,
    CriterionCheck,
    SystemRegistration,
    SystemUpdate,
)
from iam_service.domain.security import Role
from iam_service.services import audit_trail
from iam_service.services.auth import Principal
from iam_service.services.errors import ServiceError
from iam_service.services.hr_import import import_csv
from iam_service.services.policy_versions import PolicyInvalid
from iam_service.services.register_gate import waiting_notes
from iam_service.settings import REPO_ROOT, SettingsError, load_settings

app = typer.Typer(help="Identity and access lifecycle service.", no_args_is_help=True)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
token_app = typer.Typer(
    help="API tokens for machines (HR systems, scripts).", no_args_is_help=True
)
user_app = typer.Typer(
    help="Local (break-glass) administrator accounts.", no_args_is_help=True
)
hr_app = typer.Typer(help="HR intake.", no_args_is_help=True)
policy_app = typer.Typer(help="The access policy files.", no_args_is_help=True)
ops_app = typer.Typer(help="The operation queue.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
jobs_app = typer.Typer(help="Periodic jobs.", no_args_is_help=True)
demo_app = typer.Typer(help="Dummy demo data (8.33).", no_args_is_help=True)
systems_app = typer.Typer(
    help="The cloud-service register (5.23): systems and their approval.",
    no_args_is_help=True,
)
roles_app = typer.Typer(
    help="Console roles: HR, sysadmin, security officer, auditor (ADR 0013).",
    no_args_is_help=True,
)
for sub, name in (
    (db_app, "db"),
    (token_app, "token"),
    (user_app, "user"),
    (hr_app, "hr"),
    (policy_app, "policy"),
    (ops_app, "ops"),
    (audit_app, "audit"),
    (jobs_app, "jobs"),
    (demo_app, "demo"),
    (systems_app, "systems"),
    (roles_app, "roles"),
    (assets_app, "assets"),
    (offboarding_app, "offboarding"),
    (elevations_app, "elevations"),
):
    app.add_typer(sub, name=name)
app.command("reconcile")(reconcile)

CLI_ACTOR = "cli:" + getpass.getuser()


def _container(*, sync_register: bool = True) -> Container:
    """The service for this command; its connections close when it ends."""
    try:
        container = bootstrap(sync_register=sync_register)
    except SettingsError as error:
        typer.echo(f"refusing to start: {error}", err=True)
        raise typer.Exit(2) from None
    _open.append(container)
    return container


_open: list[Container] = []


@app.callback()
def _root(ctx: typer.Context) -> None:
    """Identity and access lifecycle service."""
    ctx.call_on_close(_close_containers)


def _close_containers() -> None:
    while _open:
        _open.pop().close()


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


app.add_typer(build_reviews_app(_container, getpass.getuser()), name="reviews")
app.add_typer(privileged_app, name="privileged")  # 8.2, 5.18


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Create or migrate the schema (IAM_DATABASE_URL)."""
    settings = load_settings()
    if settings.is_sqlite:
        Path(settings.database_url.split("///", 1)[-1]).parent.mkdir(
            parents=True, exist_ok=True
        )
    upgrade(settings.database_url, schema=settings.database_schema, revision=revision)
    typer.echo(f"database at {revision}")


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    with_worker: Annotated[
        bool, typer.Option(help="Also run a worker in-process.")
    ] = False,
    scheduler: Annotated[bool, typer.Option(help="Run the periodic jobs.")] = True,
) -> None:
    """Serve the API (and, optionally, the worker)."""
    import uvicorn

    from iam_service.web.app import create_app
    from jobs.scheduler import start_scheduler

    container = _container()
    stop = threading.Event()
    if scheduler and container.settings.scheduler_enabled:
        start_scheduler(container)
    if with_worker:
        threading.Thread(
            target=_run_worker, args=(container, stop, None), daemon=True
        ).start()
    uvicorn.run(
        create_app(container),
        host=host,
        port=port,
        log_level=container.settings.log_level.lower(),
    )
    stop.set()


@app.command()
def worker(
    threads: Annotated[int | None, typer.Option(help="Worker threads.")] = None,
    once: Annotated[bool, typer.Option(help="Run what is due now, then exit.")] = False,
) -> None:
    """Apply queued operations to the target systems."""
    container = _container()
    if once:
        from jobs.worker import ConnectorPool, Worker, WorkerConfig

        pool = ConnectorPool(container.connector_factory)
        done = Worker(container.queue, pool, WorkerConfig(threads=1)).drain()
        pool.close()
        typer.echo(f"{done} operations run")
        return
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    _run_worker(container, stop, threads)


def _run_worker(
    container: Container, stop: threading.Event, threads: int | None
) -> None:
    from jobs.listener import start_listener
    from jobs.worker import ConnectorPool, Wakeup, Worker, WorkerConfig

    settings = container.settings
    wakeup = Wakeup()
    if not settings.is_sqlite:
        start_listener(settings.database_url, wakeup, stop)
    config = WorkerConfig(
        threads=threads or settings.worker_threads,
        poll_seconds=settings.queue_poll_seconds,
        reap_every_seconds=max(1.0, settings.queue_lease_seconds / 4),
        limits=container.connectors_file.parallel_limits(),
    )
    Worker(
        container.queue,
        ConnectorPool(container.connector_factory),
        config,
        wakeup=wakeup,
    ).run(stop)


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
        token = _container().auth.create_token(
            name, role, actor=CLI_ACTOR, employee_id=employee_id
        )
    except ServiceError as error:
        raise _fail(error.message) from None
    typer.echo(token)


@token_app.command("list")
def token_list() -> None:
    """List tokens (never their values)."""
    with _container().uow() as uow:
        for t in uow.tokens.all():
            state = "revoked" if t.revoked_at else "active"
            typer.echo(
                f"{t.name}\t{t.role}\tiam_{t.prefix}_…\t{state}\t{t.created_at:%Y-%m-%d}"
            )


@token_app.command("revoke")
def token_revoke(name: str) -> None:
    if not _container().auth.revoke_token(name, actor=CLI_ACTOR):
        raise _fail(f"no active token named {name!r}")
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
        _container().auth.create_local_user(
            username, password, role, actor=CLI_ACTOR, employee_id=employee_id
        )
    except ServiceError as error:
        raise _fail(error.message) from None
    typer.echo(f"created {username}")


@hr_app.command("import")
def hr_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    dry_run: Annotated[
        bool, typer.Option(help="Check every row; apply nothing.")
    ] = False,
) -> None:
    """Import HR events from CSV. Any bad row means nothing is applied."""
    report = import_csv(
        _container().hr_intake,
        file.read_text(encoding="utf-8-sig"),
        actor=CLI_ACTOR,
        dry_run=dry_run,
    )
    for error in report.errors:
        typer.echo(f"{file}:{error}", err=True)
    if report.errors:
        raise _fail(
            f"{len(report.errors)} bad row(s) of {report.rows}; nothing was applied"
        )
    verb = "would apply" if dry_run else "applied"
    typer.echo(f"{verb} {report.rows} row(s)")
    for result in report.results:
        typer.echo(
            f"  {result['event_id']}\t{result['type']}\t{result['employee_id']}\t"
            f"{result['status']}\t{result['operations_queued']} operation(s)"
        )


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
        raise _fail(f"{len(error.problems)} problem(s) in {directory}") from None
    typer.echo(
        f"{directory}: {len(policy.entitlements)} entitlements, {len(policy.roles)} "
        f"roles, {len(policy.departments)} departments, "
        f"{len(policy.birthright)} birthright rules: OK"
    )


def _policy_files(directory: Path) -> dict[str, str]:
    try:
        return read_policy_files(directory)
    except PolicyError as error:
        raise _fail(str(error)) from None


def _print_problems(error: PolicyInvalid) -> typer.Exit:
    for problem in error.problems:
        typer.echo(problem, err=True)
    return _fail(f"{len(error.problems)} problem(s); nothing was changed")


@policy_app.command("plan")
def policy_plan(
    directory: Annotated[Path, typer.Argument(exists=True, file_okay=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show what would be granted and removed, for everyone, if DIRECTORY
    became the active policy (8.32). Changes nothing."""
    container = _container()
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
    container = _container()
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
        raise _fail(error.message) from None
    typer.echo(f"policy version {version.id} is active (approved by {approver})")


@policy_app.command("approve")
def policy_approve(
    version_id: int,
    approver: Annotated[str, typer.Option(help="The security officer approving.")],
    reason: Annotated[str, typer.Option(help="Why; kept with the version.")] = "",
) -> None:
    """Approve and activate a proposed version as the security officer."""
    try:
        _container().policy_versions.activate(
            version_id,
            approver=approver,
            roles=frozenset({Role.SECURITY_OFFICER}),
            reason=reason,
        )
    except ServiceError as error:
        raise _fail(error.message) from None
    typer.echo(f"policy version {version_id} is active (approved by {approver})")


@policy_app.command("versions")
def policy_versions() -> None:
    """List policy versions, newest first."""
    for v in _container().policy_versions.versions():
        diff = v.diff
        typer.echo(
            f"{v.id}\t{v.state}\t{v.content_hash[:12]}\t{v.proposed_by}\t"
            f"{v.approved_by or '-'}\t{v.proposed_at:%Y-%m-%d %H:%M}\t"
            f"+{diff.get('grants_added', 0)} -{diff.get('grants_removed', 0)}"
        )


@ops_app.command("list")
def ops_list(
    dead: Annotated[bool, typer.Option(help="Only operations parked as dead.")] = False,
    status: Annotated[OperationStatus | None, typer.Option()] = None,
    limit: int = 100,
) -> None:
    """List operations, newest first."""
    wanted = OperationStatus.DEAD if dead else status
    with _container().uow() as uow:
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
    if _container().queue.retry_dead(operation_id, CLI_ACTOR) is None:
        raise _fail(f"operation {operation_id} is not dead")
    typer.echo(f"operation {operation_id} queued again")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the hash chain; every edited or deleted record is reported."""
    report = audit_trail.verify(_container().uow)
    for problem in report.breaks:
        typer.echo(f"record {problem.seq}: {problem.problem}", err=True)
    if not report.ok:
        raise _fail(
            f"audit trail BROKEN: {len(report.breaks)} problem(s) in "
            f"{report.checked} records"
        )
    typer.echo(
        f"audit trail intact: {report.checked} records, head {report.last_hash[:16]}"
    )


@jobs_app.command("run")
def jobs_run(name: str) -> None:
    """Run one periodic job now."""
    from jobs.scheduler import JOBS, run_exclusive

    job = next((j for j in JOBS if j.name == name), None)
    if job is None:
        raise _fail(f"no job {name!r}; jobs: {', '.join(j.name for j in JOBS)}")
    ran = run_exclusive(_container(), job)
    typer.echo(f"{name}: {'ran' if ran else 'skipped (running elsewhere)'}")


@demo_app.command("seed")
def demo_seed(url: str = "http://127.0.0.1:8000") -> None:
    """Create demo tokens, an administrator and fictitious people."""
    from iam_service.demo import seed

    container = _container()
    if not container.settings.demo_mode:
        raise _fail("demo data goes only into a demo (IAM_DEMO_MODE=1)")
    credentials = seed(container)
    typer.echo(f"\nThe service: {url}   (API docs: {url}/docs)")
    typer.echo(
        f"Local administrator: {credentials.admin_user} / {credentials.admin_password}"
    )
    typer.echo("API tokens (shown once):")
    for role, token in credentials.tokens.items():
        typer.echo(f"  {role:<17} {token}")
    hr = credentials.tokens["hr"]
    typer.echo("\nTry a hire:")
    typer.echo(
        f"  curl -s -X POST {url}/api/v1/hr/events -H 'Authorization: Bearer {hr}' "
        '-H \'Content-Type: application/json\' -d \'{"event_id": "try-1", '
        '"type": "hire", "employee": {"employee_id": "D0100", '
        '"given_name": "Kaito", "family_name": "Mori", '
        '"email": "kaito.mori@example.test", "department": "ENG", '
        '"title": "Engineer"}}\''
    )
    typer.echo(
        f"  curl -s {url}/api/v1/identities/D0100 -H 'Authorization: Bearer {hr}'"
    )


# -- the cloud-service register (5.23) ---------------------------------------
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
    for r in _container().register.systems():
        typer.echo(
            f"{r.key}\t{r.state}\t{r.classification}\t{r.name}\t{r.owner}"
            f"\t{r.decided_by or ''}"
        )


@systems_app.command("sync")
def systems_sync() -> None:
    """Enter the connectors file's systems in the register (new: requested)."""
    container = _container(sync_register=False)
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
        _container().register.register(registration, _register_actor(Role.SYSADMIN))
    except (ValidationError, ServiceError) as error:
        raise _fail(str(error), 2) from None
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
        _container().register.update(key, update, _register_actor(Role.SYSADMIN))
    except (ValidationError, ServiceError) as error:
        raise _fail(str(error), 2) from None
    typer.echo(f"{key} updated")


def _decide(verb: str, key: str, comment: str, role: Role) -> None:
    register = _container().register
    action = {
        "approved": register.approve,
        "rejected": register.reject,
        "suspended": register.suspend,
        "resubmitted": register.resubmit,
    }[verb]
    try:
        action(key, _register_actor(role), comment)
    except ServiceError as error:
        raise _fail(error.message) from None
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
    data = _container().register.export_csv()
    file.write_bytes(data)
    typer.echo(f"wrote {file}")


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


@roles_app.command("grant")
def roles_grant(employee_id: str, role: Role, reason: _Reason, by: _By = None) -> None:
    """Give a person a console role (also makes the first security officer)."""
    try:
        _container().console.roles.grant(employee_id, role, _operator(by), reason)
    except ServiceError as error:
        raise _fail(error.message) from None
    typer.echo(f"{employee_id} now holds {role}")


@roles_app.command("revoke")
def roles_revoke(employee_id: str, role: Role, reason: _Reason, by: _By = None) -> None:
    """Take a console role away; it ends at the person's next request."""
    try:
        _container().console.roles.revoke(employee_id, role, _operator(by), reason)
    except ServiceError as error:
        raise _fail(error.message) from None
    typer.echo(f"{employee_id} no longer holds {role}")


@roles_app.command("list")
def roles_list() -> None:
    """Who holds which console role (department heads: see departments)."""
    for a in _container().console.roles.list():
        typer.echo(
            f"{a['employee_id']:<16} {a['role']:<18} {a['granted_at'][:19]}  "
            f"{a['granted_by']}  {a['reason']}"
        )


@user_app.command("totp-reset")
def user_totp_reset(username: str, reason: _Reason) -> None:
    """Forget a break-glass account's TOTP; its next sign-in enrols anew."""
    try:
        _container().console.local.reset_totp(username, actor=CLI_ACTOR, reason=reason)
    except ServiceError as error:
        raise _fail(error.message) from None
    typer.echo(f"{username} enrols a new authenticator at the next sign-in")


@user_app.command("unlock")
def user_unlock(username: str, reason: _Reason) -> None:
    """Lift a sign-in lockout before it runs out."""
    try:
        _container().console.local.unlock(username, actor=CLI_ACTOR, reason=reason)
    except ServiceError as error:
        raise _fail(error.message) from None
    typer.echo(f"{username} is unlocked")


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    app()
