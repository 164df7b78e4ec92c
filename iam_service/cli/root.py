"""``iamctl``: the one command line for operators. This module wires the
command groups (one module each) into the root command."""

from __future__ import annotations

import getpass
import logging

import typer

from iam_service.cli.context import close_containers, service
from iam_service.cli.credentials import roles_app, token_app, user_app
from iam_service.cli.demo import demo_app
from iam_service.cli.hr import hr_app
from iam_service.cli.offboarding import assets_app, offboarding_app
from iam_service.cli.policy import policy_app
from iam_service.cli.privileged import privileged_app
from iam_service.cli.queue import audit_app, ops_app
from iam_service.cli.reconcile import elevations_app, reconcile
from iam_service.cli.reviews import build_reviews_app
from iam_service.cli.runtime import db_app, jobs_app, serve, worker
from iam_service.cli.systems import systems_app

app = typer.Typer(help="Identity and access lifecycle service.", no_args_is_help=True)

# The order here is the order of ``iamctl --help``.
app.command("reconcile")(reconcile)
app.command("serve")(serve)
app.command("worker")(worker)
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
    (build_reviews_app(service, getpass.getuser()), "reviews"),
    (privileged_app, "privileged"),  # 8.2, 5.18
):
    app.add_typer(sub, name=name)


@app.callback()
def _root(ctx: typer.Context) -> None:
    """Identity and access lifecycle service."""
    ctx.call_on_close(close_containers)


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    # APScheduler logs every job it adds and runs at INFO; our jobs log
    # their own outcome (and their runs are kept in the job_runs table).
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    app()
