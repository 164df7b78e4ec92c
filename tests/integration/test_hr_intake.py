"""HR intake through the API, on SQLite and PostgreSQL, with the in-memory
fake AD (the real AD scenario is in test_ad_scenario.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from connectors.fake import FakeConnector
from iam_service.adapters import orm
from iam_service.bootstrap import Container
from iam_service.domain.clock import FrozenClock
from iam_service.domain.model import PersonStatus
from iam_service.domain.security import Role
from iam_service.services import audit_trail, lifecycle
from tests.support.service import drain, event, hire

Api = Callable[[Role], TestClient]


def _counts(c: Container) -> dict[str, int]:
    tables = {
        "persons": orm.persons,
        "events": orm.hr_events,
        "ops": orm.operations_table,
        "audit": orm.audit_records,
        "accounts": orm.accounts,
        "grants": orm.grants,
    }
    with c.session_factory() as s:
        return {
            name: int(s.scalar(select(func.count()).select_from(t)) or 0)
            for name, t in tables.items()
        }


def _groups(fake: FakeConnector, username: str) -> set[str]:
    state = fake.find_account(username=username)
    assert state is not None, f"{username} not in AD"
    return set(state.groups)


def test_a_hire_creates_an_enabled_account_with_exactly_the_birthright_groups(
    container: Container, api: Api, fake_ad: FakeConnector
) -> None:
    hr = api(Role.HR)
    response = hr.post(
        "/api/v1/hr/events",
        json=hire(
            "E1001", "SALES", "Manager", given_name="Hanako", family_name="Yamada"
        ),
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "applied" and body["person_status"] == "active"
    drain(container)
    state = fake_ad.find_account(username="hyamada")
    assert state is not None and state.enabled and state.employee_id == "E1001"
    assert _groups(fake_ad, "hyamada") == {
        "GG-All-Staff",
        "GG-Sales",
        "GG-Sales-Managers",
    }
    identity = api(Role.AUDITOR).get("/api/v1/identities/E1001").json()
    [account] = identity["accounts"]
    assert account["state"] == "enabled" and account["in_sync"]
    assert account["native_id"] == state.ref.native_id
    assert identity["pending_operations"] == []


def test_the_same_event_twice_returns_the_same_result_and_changes_nothing(
    container: Container, api: Api
) -> None:
    hr = api(Role.HR)
    first = hr.post("/api/v1/hr/events", json=hire("E1002"))
    before = _counts(container)
    second = hr.post("/api/v1/hr/events", json=hire("E1002"))
    assert second.status_code == 202 and second.json() == first.json()
    assert _counts(container) == before


def test_a_reused_event_id_with_other_content_is_a_conflict(
    container: Container, api: Api
) -> None:
    hr = api(Role.HR)
    hr.post("/api/v1/hr/events", json=hire("E1003"))
    before = _counts(container)
    response = hr.post("/api/v1/hr/events", json=hire("E1003", title="Manager"))
    assert response.status_code == 409
    assert "already used" in response.json()["error"]["message"]
    assert _counts(container) == before


def test_an_older_event_arriving_late_does_not_undo_a_newer_one(
    container: Container, api: Api, fake_ad: FakeConnector
) -> None:
    hr = api(Role.HR)
    hr.post(
        "/api/v1/hr/events",
        json=hire("E1004", "SALES", effective_at="2026-11-20T09:00:00+09:00"),
    )
    newer = event(
        "update",
        "E1004",
        "u-new",
        department="ENG",
        title="Engineer",
        effective_at="2026-11-24T09:00:00+09:00",
    )
    older = event(
        "update",
        "E1004",
        "u-old",
        department="FIN",
        title="Clerk",
        effective_at="2026-11-22T09:00:00+09:00",
    )
    assert hr.post("/api/v1/hr/events", json=newer).json()["status"] == "applied"
    late = hr.post("/api/v1/hr/events", json=older)
    assert late.status_code == 202 and late.json()["status"] == "stale"
    drain(container)
    person = api(Role.HR).get("/api/v1/identities/E1004").json()["person"]
    assert person["department"] == "ENG"
    assert _groups(fake_ad, "ttestE1004".lower()) == {"GG-All-Staff", "GG-Engineering"}


def test_a_future_hire_is_created_disabled_and_enabled_on_its_first_day(
    container: Container, api: Api, fake_ad: FakeConnector, clock: FrozenClock
) -> None:
    body = hire("E1005", "ENG", "Engineer", effective_at="2026-12-01T09:00:00+09:00")
    response = api(Role.HR).post("/api/v1/hr/events", json=body)
    assert response.json()["status"] == "scheduled"
    assert response.json()["person_status"] == "pending_start"
    drain(container)
    state = fake_ad.find_account(username="tteste1005")
    assert state is not None and not state.enabled
    assert lifecycle.activate_starters(container.uow, container.lifecycle) == 0
    clock.set(clock.now().replace(day=30, hour=15, minute=0))  # 2026-12-01 00:00 JST
    assert lifecycle.activate_starters(container.uow, container.lifecycle) == 1
    drain(container)
    state = fake_ad.get_account(state.ref)
    assert state.enabled


def test_an_unknown_department_is_accepted_flagged_and_given_nothing(
    container: Container, api: Api, fake_ad: FakeConnector
) -> None:
    response = api(Role.HR).post("/api/v1/hr/events", json=hire("E1006", "MARKETING"))
    assert response.status_code == 202
    assert response.json()["flags"] == ["unknown_department"]
    drain(container)
    assert fake_ad.find_account(employee_id="E1006") is None
    with container.uow() as uow:
        [notice] = uow.notices.open("sysadmin")
        assert "MARKETING" in notice.detail
        person = uow.persons.by_employee_id("E1006")
        assert person is not None and person.status is PersonStatus.ACTIVE
        assert not uow.grants.active_for_person(person.id or 0)


def test_a_transfer_swaps_the_old_departments_groups_for_the_new(
    container: Container, api: Api, fake_ad: FakeConnector
) -> None:
    hr = api(Role.HR)
    hr.post(
        "/api/v1/hr/events",
        json=hire("E1007", "FIN", "Manager", given_name="Jiro", family_name="Sato"),
    )
    drain(container)
    # A manager approves payments but does not enter them (5.3).
    assert _groups(fake_ad, "jsato") == {"GG-All-Staff", "GG-Finance-Approvers"}
    hr.post(
        "/api/v1/hr/events",
        json=event("update", "E1007", "move-1007", department="SALES", title="Staff"),
    )
    drain(container)
    assert _groups(fake_ad, "jsato") == {"GG-All-Staff", "GG-Sales"}
    state = fake_ad.find_account(username="jsato")
    assert state is not None and state.attributes.get("department") == "SALES"


def test_a_termination_disables_the_account_and_removes_its_groups(
    container: Container, api: Api, fake_ad: FakeConnector
) -> None:
    hr = api(Role.HR)
    hr.post(
        "/api/v1/hr/events",
        json=hire("E1008", "HR", given_name="Yuki", family_name="Ito"),
    )
    drain(container)
    response = hr.post("/api/v1/hr/events", json=event("terminate", "E1008", "t-1008"))
    assert response.status_code == 202
    assert response.json()["person_status"] == "terminated"
    drain(container)
    state = fake_ad.find_account(username="yito")
    assert state is not None and not state.enabled and not state.groups
    identity = api(Role.SYSADMIN).get("/api/v1/identities/E1008").json()
    assert identity["accounts"][0]["state"] == "disabled"
    assert identity["grants"] == []
    assert audit_trail.verify(container.uow).ok


def test_a_future_termination_waits_for_its_time(
    container: Container, api: Api, fake_ad: FakeConnector, clock: FrozenClock
) -> None:
    hr = api(Role.HR)
    hr.post(
        "/api/v1/hr/events", json=hire("E1009", given_name="Ken", family_name="Mori")
    )
    drain(container)
    later = (clock.now() + timedelta(days=3)).isoformat()
    response = hr.post(
        "/api/v1/hr/events",
        json=event("terminate", "E1009", "t-1009", effective_at=later),
    )
    assert response.json()["status"] == "scheduled"
    assert lifecycle.apply_due_terminations(container.uow, container.lifecycle) == 0
    drain(container)
    state = fake_ad.find_account(username="kmori")
    assert state is not None and state.enabled
    clock.advance(timedelta(days=3, minutes=1))
    assert lifecycle.apply_due_terminations(container.uow, container.lifecycle) == 1
    drain(container)
    state = fake_ad.find_account(username="kmori")
    assert state is not None and not state.enabled


def test_an_urgent_termination_runs_now_whatever_the_date(
    container: Container, api: Api, fake_ad: FakeConnector, clock: FrozenClock
) -> None:
    hr = api(Role.HR)
    hr.post(
        "/api/v1/hr/events", json=hire("E1010", given_name="Aya", family_name="Kato")
    )
    later = (clock.now() + timedelta(days=30)).isoformat()
    body = event("terminate", "E1010", "t-1010", effective_at=later) | {"urgent": True}
    assert hr.post("/api/v1/hr/events", json=body).json()["status"] == "applied"
    drain(container)
    state = fake_ad.find_account(username="akato")
    assert state is not None and not state.enabled


def test_bad_input_gets_a_clear_4xx_and_writes_nothing(
    container: Container, api: Api
) -> None:
    hr = api(Role.HR)
    hr.post(
        "/api/v1/hr/events", json=hire("E1011", given_name="Mai", family_name="Abe")
    )
    before = _counts(container)
    malformed = hr.post(
        "/api/v1/hr/events",
        content=b'{"event_id": "x", ',
        headers={"content-type": "application/json"},
    )
    assert malformed.status_code == 400
    assert malformed.json()["error"]["code"] == "malformed_json"
    no_id = hire("E1012")
    del no_id["employee"]["employee_id"]
    missing = hr.post("/api/v1/hr/events", json=no_id)
    assert missing.status_code == 422
    assert "employee.employee_id" in missing.json()["error"]["message"]
    taken = hr.post(
        "/api/v1/hr/events",
        json=hire("E1011", event_id="h-dup", given_name="Other", family_name="Person"),
    )
    assert taken.status_code == 409
    assert "already used by Mai Abe" in taken.json()["error"]["message"]
    unknown = hr.post("/api/v1/hr/events", json=event("terminate", "E9999", "t-9999"))
    assert unknown.status_code == 404
    assert "E9999" in unknown.json()["error"]["message"]
    same_mail = hr.post(
        "/api/v1/hr/events", json=hire("E1013", email="e1011@example.test")
    )
    assert same_mail.status_code == 409
    naive = hr.post(
        "/api/v1/hr/events", json=hire("E1014", effective_at="2026-12-01T09:00")
    )
    assert naive.status_code == 422
    assert _counts(container) == before


def test_every_api_route_needs_a_token_with_the_right_role(
    container: Container, api: Api
) -> None:
    anonymous = TestClient(api(Role.HR).app)
    assert anonymous.post("/api/v1/hr/events", json=hire("E1015")).status_code == 401
    assert anonymous.get("/api/v1/identities/E1015").status_code == 401
    forged = TestClient(api(Role.HR).app, headers={"Authorization": "Bearer iam_x_y"})
    assert forged.post("/api/v1/hr/events", json=hire("E1015")).status_code == 401
    auditor = api(Role.AUDITOR)
    assert auditor.post("/api/v1/hr/events", json=hire("E1015")).status_code == 403
    assert api(Role.DEPARTMENT_HEAD).get("/api/v1/identities/E1015").status_code == 403
    assert _counts(container)["persons"] == 0


def test_health_and_metrics_are_served(container: Container, api: Api) -> None:
    hr = api(Role.HR)
    hr.post("/api/v1/hr/events", json=hire("E1016"))
    assert hr.get("/healthz").json() == {"status": "ok"}
    metrics = hr.get("/metrics").text
    assert 'iam_operations{status="pending"}' in metrics
    assert 'iam_persons{status="active"} 1.0' in metrics
