"""Future-dated terminations: recorded, carried out by the scheduler at their
time from our own tables (so a restart loses nothing), and brought forward
by the security officer when they cannot wait."""

from __future__ import annotations

from datetime import timedelta

from connectors.base import AccountRef
from connectors.fake import FakeConnector
from iam_service.bootstrap import Container
from iam_service.domain.clock import FrozenClock
from iam_service.domain.operations import OperationStatus, Priority
from iam_service.domain.security import Role
from iam_service.services import lifecycle
from jobs.scheduler import JOBS, run_exclusive
from tests.support.db import TestDatabase
from tests.support.offboarding import (
    Clients,
    audit_count,
    give_assets,
    hire_person,
    terminate,
)
from tests.support.service import build, drain


def _native(c: Container, employee_id: str) -> str:
    with c.uow() as uow:
        person = uow.persons.by_employee_id(employee_id)
        assert person is not None and person.id is not None
        [account] = uow.accounts.for_person(person.id)
        assert account.native_id is not None
        return account.native_id


def test_a_planned_termination_survives_a_restart(
    database: TestDatabase, fake_ad: FakeConnector, clock: FrozenClock
) -> None:
    first = build(database, {"ad": fake_ad}, clock)
    hire_person(first, "E400")
    drain(first)
    clients = Clients(first)
    give_assets(clients(Role.SYSADMIN), "E400")
    clients.close()
    effective = clock.now() + timedelta(days=3)
    result = terminate(first, "E400", effective_at=effective.isoformat())
    assert result["status"] == "scheduled"
    assert first.offboarding.cases.for_person("E400") == []
    native = _native(first, "E400")
    first.close()  # the service stops; nothing of the plan lives in memory

    clock.advance(timedelta(days=2, hours=23))
    second = build(database, {"ad": fake_ad}, clock)  # a new process, same store
    [job] = [j for j in JOBS if j.name == "apply_due_terminations"]
    assert run_exclusive(second, job)
    assert second.offboarding.cases.for_person("E400") == []
    assert fake_ad.get_account(AccountRef(native, "")).enabled

    clock.advance(timedelta(hours=1))
    assert run_exclusive(second, job)
    [case] = second.offboarding.cases.for_person("E400")
    assert case["status"] == "open" and case["terminated_at"] == effective.isoformat()
    with second.uow() as uow:
        pending = uow.operations.list(OperationStatus.PENDING)
        assert pending and {op.priority for op in pending} == {Priority.TERMINATION}
    drain(second)
    assert not fake_ad.get_account(AccountRef(native, "")).enabled
    assert second.offboarding.cases.get(case["id"])["assets_outstanding"] == 2
    second.close()


def test_the_security_officer_runs_a_planned_termination_now(
    container: Container, clients: Clients, clock: FrozenClock, fake_ad: FakeConnector
) -> None:
    hire_person(container, "E401")
    hire_person(container, "E402")
    drain(container)
    effective = clock.now() + timedelta(days=30)
    terminate(container, "E401", effective_at=effective.isoformat())
    officer = clients(Role.SECURITY_OFFICER, "E990")
    hr = clients(Role.HR)
    planned = officer.get("/api/v1/offboarding/planned-terminations").json()
    assert [p["employee_id"] for p in planned["terminations"]] == ["E401"]

    path = "/api/v1/offboarding/planned-terminations/{}/run-now"
    before = audit_count(container)
    assert officer.post(path.format("E401"), json={"reason": " "}).status_code == 422
    assert hr.post(path.format("E401"), json={"reason": "x"}).status_code == 403
    nothing = officer.post(path.format("E402"), json={"reason": "incident"})
    assert nothing.status_code == 404
    assert audit_count(container) == before

    done = officer.post(
        path.format("E401"), json={"reason": "incident IR-7: access removed now"}
    )
    assert done.status_code == 200, done.text
    [case] = container.offboarding.cases.for_person("E401")
    assert case["terminated_at"] == clock.now().isoformat()
    drain(container)
    assert not fake_ad.get_account(AccountRef(_native(container, "E401"), "")).enabled
    with container.uow() as uow:
        [record] = [
            r
            for r in uow.audit.for_target("person:E401")
            if r.action == "person.termination_brought_forward"
        ]
        assert record.reason == "incident IR-7: access removed now"
        assert record.actor == "token:t0-security_officer"
    assert officer.get("/api/v1/offboarding/planned-terminations").json() == {
        "terminations": []
    }
    clock.advance(timedelta(days=31))  # its date passes: nothing runs twice
    assert lifecycle.apply_due_terminations(container.uow, container.lifecycle) == 0
    assert len(container.offboarding.cases.for_person("E401")) == 1
    again = officer.post(path.format("E401"), json={"reason": "again"})
    assert again.status_code == 404
