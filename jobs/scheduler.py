"""Periodic jobs, fired by APScheduler and run once across replicas.

APScheduler only says *when*; what is due is read from our own tables each
time (start dates, scheduled terminations, ...), so a restart, a missed
tick or a second replica changes nothing. On PostgreSQL each job runs under
a session advisory lock: when two ``iamctl serve`` processes fire together,
one runs and the other skips. Each run is recorded in ``job_runs``.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Connection, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from iam_service.adapters import orm
from iam_service.bootstrap import Container
from iam_service.services import (
    audit_trail,
    card_checks,
    elevations,
    grant_expiry,
    lifecycle,
    movers,
    offboarding_jobs,
    privileged_jobs,
    reconciliation,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every_seconds: int
    run: Callable[[Container], object]


JOBS: tuple[PeriodicJob, ...] = (
    PeriodicJob(  # throttling needs minutes of attempts; flows live ten
        "prune_console_sign_ins",
        3600,
        lambda c: c.console.sessions.prune(),
    ),
    PeriodicJob(
        "activate_starters",
        60,
        lambda c: lifecycle.activate_starters(c.uow, c.lifecycle),
    ),
    PeriodicJob(
        "apply_due_terminations",
        60,
        lambda c: lifecycle.apply_due_terminations(c.uow, c.lifecycle),
    ),
    PeriodicJob(  # 5.18: what the new head did not keep in time goes
        "remove_undecided_mover_grants",
        3600,
        lambda c: movers.remove_undecided(c.uow, c.lifecycle),
    ),
    PeriodicJob(  # 5.11: outstanding offboarding items go up the line by mail
        "escalate_offboarding",
        900,
        lambda c: offboarding_jobs.escalate(
            c.uow, c.lifecycle, c.offboarding.escalation
        ),
    ),
    PeriodicJob(  # accounts of closed cases, after the retention period
        "delete_offboarded_accounts",
        3600,
        lambda c: offboarding_jobs.delete_due(c.uow, c.lifecycle),
    ),
    PeriodicJob(  # 7.2: the administrators confirm the spare security cards
        "open_spare_card_check",
        3600,
        lambda c: card_checks.open_spare_card_check(c.uow, c.lifecycle),
    ),
    PeriodicJob(  # 5.18: campaigns start on the policy's schedule
        "start_review_campaigns",
        900,
        lambda c: c.access_reviews.starter.start_due(),
    ),
    PeriodicJob(  # reminders before the due time, escalations after it
        "review_reminders",
        900,
        lambda c: c.access_reviews.reminders.queue_due(),
    ),
    PeriodicJob(  # undecided items as the policy says, then the seal
        "close_review_campaigns",
        900,
        lambda c: c.access_reviews.closer.close_due(),
    ),
    PeriodicJob(  # last sign-ins, for "revoke: no sign-in for 90 days"
        "collect_sign_ins",
        6 * 3600,
        lambda c: c.access_reviews.sign_ins.collect(),
    ),
    PeriodicJob("deliver_mail", 60, lambda c: c.mail.deliver_due()),
    PeriodicJob(  # 5.17: no sealed new password outlives its change
        "settle_password_changes", 600, lambda c: c.passwords.settle()
    ),
    PeriodicJob(  # 8.18: request end dates and elevations end on time
        "expire_grants",
        60,
        lambda c: grant_expiry.expire_grants(c.uow, c.lifecycle),
    ),
    PeriodicJob(  # 8.2: unratified break-glass uses go to the security officer
        "escalate_break_glass",
        300,
        lambda c: elevations.escalate_unratified(
            c.uow, c.lifecycle, c.elevations.notifier
        ),
    ),
    PeriodicJob(  # drift, per system as often as the policy says
        "reconcile_systems",
        3600,
        lambda c: reconciliation.reconcile_due(
            c.reconciliation, c.register.approved.keys
        ),
    ),
    PeriodicJob(  # 8.2: who holds privileged rights, in every approved system
        "discover_privileged",
        6 * 3600,
        lambda c: c.privileged.discovery.discover(actor="scheduler"),
    ),
    PeriodicJob(  # 8.2: flagged privileged accounts, mailed once a day
        "privileged_digest",
        3600,
        lambda c: c.privileged.mail.digest(),
    ),
    PeriodicJob(  # 5.17: admin passwords older than the policy's period
        "rotate_due_privileged",
        3600,
        lambda c: privileged_jobs.rotate_due(c.uow, c.policy, c.privileged.systems),
    ),
    PeriodicJob(  # a shown or superseded password never stays sealed
        "purge_shown_secrets",
        3600,
        lambda c: privileged_jobs.purge_secrets(c.uow, c.privileged.store),
    ),
    PeriodicJob(
        "prune_audit_trail",
        24 * 3600,
        lambda c: audit_trail.prune(c.uow, c.settings.audit_retention_days),
    ),
)


def _lock_key(name: str) -> int:
    return int.from_bytes(
        hashlib.sha256(name.encode()).digest()[:8], "big", signed=True
    )


def run_exclusive(container: Container, job: PeriodicJob) -> bool:
    """Run ``job`` unless another replica is running it; True if it ran."""
    with container.engine.connect() as connection:
        postgres = connection.dialect.name == "postgresql"
        if postgres and not connection.scalar(
            text("SELECT pg_try_advisory_lock(:k)"), {"k": _lock_key(job.name)}
        ):
            return False
        try:
            _record(connection, job.name, container, "running", "")
            try:
                outcome = job.run(container)
            except Exception as error:
                log.exception("periodic job %s failed", job.name)
                _record(connection, job.name, container, "failed", repr(error)[:500])
                return True
            _record(connection, job.name, container, "ok", str(outcome))
            return True
        finally:
            if postgres:
                connection.execute(
                    text("SELECT pg_advisory_unlock(:k)"), {"k": _lock_key(job.name)}
                )
                connection.commit()


def _record(
    connection: Connection, name: str, c: Container, status: str, detail: str
) -> None:
    now = c.clock.now()
    values = {"name": name, "last_status": status, "last_detail": detail}
    if status == "running":
        values["last_started_at"] = now  # type: ignore[assignment]
    else:
        values["last_finished_at"] = now  # type: ignore[assignment]
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = insert(orm.job_runs).values(**values)
    update = {k: v for k, v in values.items() if k != "name"}
    connection.execute(
        statement.on_conflict_do_update(index_elements=["name"], set_=update)
    )
    connection.commit()


def start_scheduler(container: Container) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC")
    for job in JOBS:
        scheduler.add_job(
            run_exclusive,
            "interval",
            seconds=job.every_seconds,
            args=(container, job),
            id=job.name,
            name=job.name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=job.every_seconds,
        )
    scheduler.start()
    return scheduler
