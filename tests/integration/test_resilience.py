"""Nothing is lost: AD outages, workers killed mid-batch, and two worker
processes sharing one PostgreSQL queue, all against the real Samba AD."""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from connectors.active_directory import ADSettings
from iam_service.adapters import orm
from iam_service.bootstrap import Container
from iam_service.domain.audit import AuditRecord
from iam_service.domain.clock import FrozenClock
from iam_service.domain.hr import HrEvent
from iam_service.domain.operations import OperationStatus
from iam_service.domain.security import Role
from iam_service.services import audit_trail
from iam_service.web.app import create_app
from tests.support.ad_service import (
    AdTarget,
    ad_container,
    connectors_file,
    iamctl_env,
    start_worker,
)
from tests.support.db import TestDatabase
from tests.support.samba import SambaDc
from tests.support.service import START, drain, event, hire
from tests.support.tcp_proxy import TcpProxy
from tools.samba_directory import connect

pytestmark = pytest.mark.samba


def _submit(c: Container, bodies: list[dict[str, Any]]) -> None:
    for body in bodies:
        c.hr_intake.submit(HrEvent.model_validate(body), actor="token:hr-system")


def _accounts(dc: SambaDc, base: str) -> dict[str, dict[str, Any]]:
    """Every account under ``base``, read straight from LDAP (not via our code)."""
    connection = connect(dc.url, dc.admin_user, dc.admin_password, dc.ca_file)
    try:
        entries = connection.extend.standard.paged_search(
            base,
            "(objectClass=user)",
            attributes=["employeeID", "userAccountControl", "memberOf"],
            paged_size=500,
            generator=False,
        )
        found = {}
        for entry in entries:
            if entry.get("type") != "searchResEntry":
                continue
            attrs = entry["attributes"]
            found[_one(attrs["employeeID"])] = {
                "dn": entry["dn"],
                "enabled": not int(_one(attrs["userAccountControl"])) & 0x2,
                "groups": list(attrs.get("memberOf") or []),
            }
        return found
    finally:
        connection.unbind()


def _one(value: Any) -> str:
    return str(value[0] if isinstance(value, list) else value)


def _status_counts(c: Container) -> Counter[str]:
    with c.uow() as uow:
        return Counter(uow.operations.counts_by_status())


def _wait_until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _finished(c: Container) -> bool:
    counts = _status_counts(c)
    return counts["pending"] == 0 and counts["running"] == 0


def _successes_per_operation(c: Container) -> Counter[int]:
    with c.uow() as uow:
        records = uow.session.scalars(
            select(AuditRecord).where(orm.audit_records.c.action.like("operation.%"))
        ).all()
    return Counter(
        int(r.after["operation"])
        for r in records
        if r.after
        and "operation" in r.after
        and r.action
        not in ("operation.retry_scheduled", "operation.dead", "operation.requeued")
    )


def test_an_ad_outage_during_a_termination_retries_and_completes(
    database: TestDatabase, ad_target: AdTarget, samba_dc: SambaDc
) -> None:
    proxy = TcpProxy("127.0.0.1", 636)
    clock = FrozenClock(START)
    settings = ADSettings(
        **{
            **ad_target.settings.__dict__,
            "url": f"ldaps://127.0.0.1:{proxy.port}",
            "connect_timeout": 2.0,
        }
    )
    target = AdTarget(settings, ad_target.sandbox, ad_target.groups_ou)
    service = ad_container(database, target, clock)
    try:
        tag = target.sandbox.tag[:6]
        _submit(
            service,
            [hire(f"O{tag}", "SALES", given_name="Outage", family_name=f"T{tag}")],
        )
        drain(service)
        proxy.down()
        _submit(service, [event("terminate", f"O{tag}", f"t-o-{tag}")])
        drain(service)
        token = service.auth.create_token("outage-hr", Role.HR, actor="test")
        client = TestClient(
            create_app(service), headers={"Authorization": f"Bearer {token}"}
        )
        identity = client.get(f"/api/v1/identities/O{tag}").json()
        assert identity["person"]["status"] == "terminated"
        [account] = identity["accounts"]
        assert account["state"] == "enabled" and account["desired"] == "disabled"
        assert not account["in_sync"] and account["pending_operations"] >= 1
        first = identity["pending_operations"][0]
        assert first["kind"] == "disable_account" and first["attempts"] == 1
        assert "RetryableError" in first["last_error"]
        assert _accounts(samba_dc, target.sandbox.root)[f"O{tag}"]["enabled"]

        proxy.up()
        clock.advance(timedelta(minutes=5))
        drain(service)
        after = _accounts(samba_dc, target.sandbox.root)[f"O{tag}"]
        assert not after["enabled"] and not after["groups"]
        identity = client.get(f"/api/v1/identities/O{tag}").json()
        assert identity["accounts"][0]["state"] == "disabled"
        assert identity["pending_operations"] == []
        client.close()
    finally:
        proxy.close()
        service.close()


@pytest.mark.slow
def test_two_worker_processes_run_every_operation_exactly_once(
    pg_database: TestDatabase, ad_target: AdTarget, samba_dc: SambaDc, tmp_path: Path
) -> None:
    service = ad_container(pg_database, ad_target)
    tag = ad_target.sandbox.tag[:4]
    _submit(
        service,
        [
            hire(
                f"X{tag}{n:03d}",
                ("SALES", "ENG", "FIN")[n % 3],
                given_name="Pair",
                family_name=f"W{n:03d}{tag}",
            )
            for n in range(40)
        ],
    )
    env = iamctl_env(
        pg_database,
        ad_target,
        connectors_file(tmp_path / "c.yaml", ad_target),
        IAM_WORKER_THREADS="2",
    )
    workers = [start_worker(env, tmp_path / f"w{i}.log") for i in range(2)]
    try:
        _wait_until(lambda: _finished(service), 180, "the queue to drain")
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=60)
    counts = _status_counts(service)
    assert counts["succeeded"] > 100 and set(counts) == {"succeeded"}
    with service.uow() as uow:
        operations = uow.operations.list(limit=10_000)
    assert all(op.attempts == 1 for op in operations)
    assert set(_successes_per_operation(service).values()) == {1}
    assert len(_successes_per_operation(service)) == len(operations)
    with service.uow() as uow:
        actors = uow.session.scalars(
            select(orm.audit_records.c.actor).where(
                orm.audit_records.c.action.like("operation.%")
            )
        ).all()
    assert len({actor.split(":")[2].split("/")[0] for actor in actors}) == 2, (
        "both worker processes should have taken part"
    )
    directory = _accounts(samba_dc, ad_target.sandbox.root)
    assert len(directory) == 40 and all(a["enabled"] for a in directory.values())
    service.close()


@pytest.mark.slow
def test_a_worker_killed_mid_batch_leaves_nothing_half_done(
    pg_database: TestDatabase, ad_target: AdTarget, samba_dc: SambaDc, tmp_path: Path
) -> None:
    service = ad_container(pg_database, ad_target)
    tag = ad_target.sandbox.tag[:4]
    people = [f"K{tag}{n:03d}" for n in range(200)]
    _submit(
        service,
        [
            hire(p, "SALES", given_name="Crash", family_name=f"K{p[-3:]}{tag}")
            for p in people
        ],
    )
    drain(service)
    _submit(service, [event("terminate", p, f"kill-{p}") for p in people])
    with service.uow() as uow:
        batch = len(uow.operations.list(OperationStatus.PENDING, limit=10_000))
    env = iamctl_env(
        pg_database,
        ad_target,
        connectors_file(tmp_path / "c.yaml", ad_target),
        IAM_WORKER_THREADS="2",
        IAM_QUEUE_LEASE_SECONDS="3",
    )
    first = start_worker(env, tmp_path / "first.log")
    _wait_until(
        lambda: _status_counts(service)["pending"] <= batch // 2, 180, "half the batch"
    )
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    left = _status_counts(service)
    assert left["pending"] + left["running"] > 0, (
        "the kill came too late to prove anything"
    )

    second = start_worker(env, tmp_path / "second.log")
    try:
        _wait_until(lambda: _finished(service), 240, "the restarted worker to finish")
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=60)
    assert set(_status_counts(service)) == {"succeeded"}
    directory = _accounts(samba_dc, ad_target.sandbox.root)
    for person in people:
        account = directory[person]
        assert not account["enabled"] and account["groups"] == [], (person, account)
        assert account["dn"].endswith(ad_target.sandbox.leavers)
    report = audit_trail.verify(service.uow)
    assert report.ok
    successes = _successes_per_operation(service)
    with service.uow() as uow:
        total = uow.session.scalar(
            select(func.count()).select_from(orm.operations_table)
        )
    assert len(successes) == total and set(successes.values()) == {1}
    service.close()


def test_the_worker_process_stops_cleanly_on_sigterm(
    pg_database: TestDatabase, ad_target: AdTarget, tmp_path: Path
) -> None:
    env = iamctl_env(
        pg_database, ad_target, connectors_file(tmp_path / "c.yaml", ad_target)
    )
    worker = start_worker(env, tmp_path / "w.log")
    time.sleep(2)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0, (tmp_path / "w.log").read_text()
    assert isinstance(worker, subprocess.Popen)
