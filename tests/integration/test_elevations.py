"""Time-boxed privileged elevation and break-glass use over the API, on
SQLite and PostgreSQL (8.2, 8.18, 5.3): granted through the queue at
ELEVATED priority, removed on time by the expiry job even across a restart,
escalated while a break-glass use stays unratified, and bad input refused
with nothing written."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from connectors.fake import FakeConnector
from iam_service.adapters import orm
from iam_service.adapters.orm_elevation import elevations
from iam_service.bootstrap import Container
from iam_service.domain.clock import FrozenClock
from iam_service.domain.operations import (
    Operation,
    OperationKind,
    OperationStatus,
    Priority,
)
from iam_service.domain.security import Role
from iam_service.services.notifier import Notification
from iam_service.services.unit_of_work import UnitOfWork
from jobs.scheduler import JOBS, run_exclusive
from tests.support.access import Person, hire_all, person_client, staff
from tests.support.db import TestDatabase
from tests.support.service import build, drain

ADMINS = "Domain Admins"


class RecordingNotifier:
    """The e-mail hook as a test sees it: what would have been sent."""

    def __init__(self) -> None:
        self.sent: list[Notification] = []

    def notify(self, uow: UnitOfWork, notification: Notification) -> None:
        self.sent.append(notification)


@pytest.fixture
def people(container: Container, as_person: Person) -> dict[str, TestClient]:
    hire_all(
        container,
        staff("E300", "IT", "System Administrator"),
        staff("E301", "IT", "System Administrator"),
        staff("E400", "GA", "Security Officer"),
    )
    drain(container)  # their AD accounts exist
    return {
        "sysadmin": as_person(Role.SYSADMIN, "E300"),
        "sysadmin2": as_person(Role.SYSADMIN, "E301"),
        "security": as_person(Role.SECURITY_OFFICER, "E400"),
        # The same person in two roles (5.3 must still tell them apart).
        "sysadmin_as_officer": as_person(Role.SECURITY_OFFICER, "E300"),
        "auditor": as_person(Role.AUDITOR, None),
    }


@pytest.fixture
def notifier(container: Container) -> RecordingNotifier:
    recorder = RecordingNotifier()
    container.elevations.notifier = recorder
    return recorder


def _ask(client: TestClient, path: str = "", **body: Any) -> Any:
    body.setdefault("entitlement", f"ad:{ADMINS}")
    body.setdefault("hours", 2)
    body.setdefault("reason", "patch the domain controllers (change CHG-1234)")
    return client.post(f"/api/v1/elevations{path}", json=body)


def _job(container: Container, name: str) -> None:
    assert run_exclusive(container, next(j for j in JOBS if j.name == name))


def _groups(fake_ad: FakeConnector, employee_id: str) -> frozenset[str]:
    state = fake_ad.find_account(employee_id=employee_id)
    assert state is not None
    return state.groups


def _ops(
    container: Container, employee_id: str, kind: OperationKind, cause: str = ""
) -> list[Operation]:
    with container.uow() as uow:
        person = uow.persons.by_employee_id(employee_id)
        assert person is not None and person.id is not None
        return [
            o
            for account in uow.accounts.for_person(person.id)
            for o in uow.operations.for_account(account.id or 0)
            if o.kind is kind and (o.cause or "").startswith(cause)
        ]


def _actions(container: Container, target: str) -> list[str]:
    with container.uow() as uow:
        return [r.action for r in uow.audit.for_target(target)]


def test_an_approved_elevation_is_added_first_and_removed_on_time(
    container: Container,
    people: dict[str, TestClient],
    fake_ad: FakeConnector,
    clock: FrozenClock,
) -> None:
    asked = _ask(people["sysadmin"], hours=2)
    assert asked.status_code == 201, asked.text
    eid = asked.json()["id"]
    assert asked.json()["status"] == "pending"
    approved = people["security"].post(
        f"/api/v1/elevations/{eid}/approve", json={"reason": "CHG-1234 approved"}
    )
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["status"] == "active"
    assert body["expires_at"] == (clock.now() + timedelta(hours=2)).isoformat()
    [op] = _ops(container, "E300", OperationKind.ADD_TO_GROUP, f"elevation:{eid}")
    assert op.priority == Priority.ELEVATED and op.payload == {"group": ADMINS}
    drain(container)
    assert ADMINS in _groups(fake_ad, "E300")
    active = people["auditor"].get("/api/v1/elevations", params={"active": True})
    assert [e["id"] for e in active.json()["elevations"]] == [eid]

    clock.advance(timedelta(hours=1, minutes=59))
    _job(container, "expire_grants")
    drain(container)
    assert ADMINS in _groups(fake_ad, "E300")  # not a minute early

    clock.advance(timedelta(minutes=1))
    _job(container, "expire_grants")
    drain(container)
    assert ADMINS not in _groups(fake_ad, "E300")
    assert "GG-All-Staff" in _groups(fake_ad, "E300")  # only what expired
    ended = people["auditor"].get(f"/api/v1/elevations/{eid}").json()
    assert ended["status"] == "expired" and ended["ended_by"] == "scheduler"
    assert people["auditor"].get(
        "/api/v1/elevations", params={"active": True}
    ).json() == {"elevations": []}
    assert _actions(container, f"elevation:{eid}") == [
        "elevation.requested",
        "elevation.approved",
        "elevation.expired",
    ]
    assert "grant.expired" in _actions(container, "person:E300")


def test_the_elevation_ends_on_time_across_a_restart(
    database: TestDatabase,
    container: Container,
    people: dict[str, TestClient],
    fake_ad: FakeConnector,
    clock: FrozenClock,
) -> None:
    eid = _ask(people["sysadmin"], hours=4).json()["id"]
    people["security"].post(f"/api/v1/elevations/{eid}/approve")
    drain(container)
    assert ADMINS in _groups(fake_ad, "E300")
    container.close()  # the service stops ...

    later = FrozenClock(clock.now() + timedelta(hours=4, minutes=1))
    restarted = build(database, {"ad": fake_ad}, later)  # ... and starts again
    try:
        _job(restarted, "expire_grants")
        drain(restarted)
        assert ADMINS not in _groups(fake_ad, "E300")
        with restarted.uow() as uow:
            elevation = uow.elevations.get(eid)
            assert elevation is not None and str(elevation.status) == "expired"
        removals = _ops(restarted, "E300", OperationKind.REMOVE_FROM_GROUP)
        assert [(o.priority, o.status) for o in removals] == [
            (Priority.ELEVATED, OperationStatus.SUCCEEDED)
        ]
        _job(restarted, "expire_grants")  # nothing left to do: nothing new
        assert len(_ops(restarted, "E300", OperationKind.REMOVE_FROM_GROUP)) == 1
    finally:
        restarted.close()


def test_break_glass_is_granted_at_once_and_escalates_until_ratified(
    container: Container,
    people: dict[str, TestClient],
    fake_ad: FakeConnector,
    clock: FrozenClock,
    notifier: RecordingNotifier,
) -> None:
    taken = _ask(
        people["sysadmin"], "/break-glass", hours=1, reason="DC outage, officer away"
    )
    assert taken.status_code == 201, taken.text
    eid = taken.json()["id"]
    assert taken.json()["status"] == "active"
    assert taken.json()["ratification"] == "pending"
    drain(container)
    assert ADMINS in _groups(fake_ad, "E300")
    with container.uow() as uow:
        [notice] = [
            n for n in uow.notices.open(str(Role.SECURITY_OFFICER))
            if n.subject == f"elevation:{eid}"
        ]  # fmt: skip
        assert notice.kind == "elevation_break_glass"
    assert [n.kind for n in notifier.sent] == ["elevation_break_glass"]

    clock.advance(timedelta(minutes=59))
    _job(container, "escalate_break_glass")
    assert len(notifier.sent) == 1  # within the grace period
    clock.advance(timedelta(minutes=2))
    _job(container, "escalate_break_glass")
    _job(container, "escalate_break_glass")  # once per interval, not per run
    assert [n.kind for n in notifier.sent][1:] == ["elevation_escalation"]
    _job(container, "expire_grants")  # the hour is up: the right goes ...
    drain(container)
    assert ADMINS not in _groups(fake_ad, "E300")
    clock.advance(timedelta(hours=4))
    _job(container, "escalate_break_glass")  # ... the escalation does not
    assert len(notifier.sent) == 3
    view = people["auditor"].get(f"/api/v1/elevations/{eid}").json()
    assert view["escalations"] == 2 and view["status"] == "expired"

    own = people["sysadmin_as_officer"].post(
        f"/api/v1/elevations/{eid}/ratify", json={"reason": "mine"}
    )
    assert own.status_code == 403, own.text
    assert own.json()["error"]["code"] == "segregation_of_duties"
    ratified = people["security"].post(
        f"/api/v1/elevations/{eid}/ratify", json={"reason": "outage ticket INC-77"}
    )
    assert ratified.status_code == 200, ratified.text
    assert ratified.json()["ratification"] == "ratified"
    clock.advance(timedelta(hours=5))
    _job(container, "escalate_break_glass")
    assert len(notifier.sent) == 3
    assert _actions(container, f"elevation:{eid}") == [
        "elevation.break_glass_used",
        "elevation.escalated",
        "elevation.expired",
        "elevation.escalated",
        "elevation.ratified",
    ]


def test_a_refused_break_glass_use_ends_at_once(
    container: Container,
    people: dict[str, TestClient],
    fake_ad: FakeConnector,
) -> None:
    eid = _ask(people["sysadmin"], "/break-glass", hours=2).json()["id"]
    drain(container)
    refused = people["security"].post(
        f"/api/v1/elevations/{eid}/reject", json={"reason": "no outage on record"}
    )
    assert refused.status_code == 200, refused.text
    assert refused.json()["status"] == "rejected"
    assert refused.json()["ratification"] == "refused"
    drain(container)
    assert ADMINS not in _groups(fake_ad, "E300")
    again = people["security"].post(
        f"/api/v1/elevations/{eid}/ratify", json={"reason": "changed my mind"}
    )
    assert again.status_code == 409


def test_an_elevation_can_be_ended_early_and_a_request_withdrawn(
    container: Container,
    people: dict[str, TestClient],
    fake_ad: FakeConnector,
) -> None:
    eid = _ask(people["sysadmin"]).json()["id"]
    people["security"].post(f"/api/v1/elevations/{eid}/approve")
    drain(container)
    ended = people["sysadmin"].post(
        f"/api/v1/elevations/{eid}/end", json={"reason": "work done early"}
    )
    assert ended.status_code == 200 and ended.json()["status"] == "ended"
    drain(container)
    assert ADMINS not in _groups(fake_ad, "E300")
    second = _ask(people["sysadmin"]).json()["id"]
    withdrawn = people["sysadmin"].post(
        f"/api/v1/elevations/{second}/end", json={"reason": "not needed after all"}
    )
    assert withdrawn.json()["status"] == "ended"
    late = people["security"].post(f"/api/v1/elevations/{second}/approve")
    assert late.status_code == 409


def _counts(c: Container) -> tuple[int, int, int]:
    with c.session_factory() as s:
        return tuple(  # type: ignore[return-value]
            int(s.scalar(select(func.count()).select_from(t)) or 0)
            for t in (elevations, orm.grants, orm.operations_table)
        )


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        ("", {"entitlement": "ad:No-Such-Group"}, 422, "entitlement"),
        ("", {"entitlement": "ad:GG-Finance"}, 422, "entitlement"),  # not privileged
        ("", {"hours": 9}, 422, "hours"),  # policy: max_hours 8
        ("", {"hours": 0}, 422, None),
        ("", {"reason": "   "}, 422, None),
        ("", {"reason": None}, 422, None),
        ("/break-glass", {"hours": 3}, 422, "hours"),  # break_glass_max_hours 2
        ("", {"unknown": 1}, 422, None),
    ],
)
def test_bad_input_is_refused_and_writes_nothing(
    container: Container,
    people: dict[str, TestClient],
    path: str,
    body: dict[str, Any],
    status: int,
    field: str | None,
) -> None:
    before = _counts(container)
    if body.get("reason", "") is None:
        body = {"entitlement": f"ad:{ADMINS}", "hours": 2}
        response = people["sysadmin"].post(f"/api/v1/elevations{path}", json=body)
    else:
        response = _ask(people["sysadmin"], path, **body)
    assert response.status_code == status, response.text
    if field:
        assert [d["field"] for d in response.json()["error"]["details"]] == [field]
    assert _counts(container) == before


def test_nobody_approves_their_own_elevation_and_roles_are_checked(
    container: Container, people: dict[str, TestClient]
) -> None:
    eid = _ask(people["sysadmin"]).json()["id"]
    before = _counts(container)
    own = people["sysadmin_as_officer"].post(f"/api/v1/elevations/{eid}/approve")
    assert own.status_code == 403
    assert own.json()["error"]["code"] == "segregation_of_duties"
    not_officer = people["sysadmin2"].post(f"/api/v1/elevations/{eid}/approve")
    assert not_officer.status_code == 403
    assert _ask(people["auditor"]).status_code == 403
    machine = person_client(container, Role.SYSADMIN, None)
    try:
        assert _ask(machine).status_code == 403  # a person, not a machine (8.18)
    finally:
        machine.close()
    twice = _ask(people["sysadmin"])
    assert twice.status_code == 409  # already waiting
    assert _counts(container) == before
    assert _actions(container, f"elevation:{eid}") == ["elevation.requested"]
