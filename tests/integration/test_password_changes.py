"""Self-service password change (5.17) over the API, on both stores, with
the in-memory AD: verified by the current password, refused by our rules,
throttled, queued with the new password sealed, and nothing left behind."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from connectors.base import AccountRef, PolicyRefused, Secret
from connectors.fake import FakeConnector
from iam_service.adapters import orm
from iam_service.adapters.orm_passwords import password_history
from iam_service.bootstrap import Container
from iam_service.domain.clock import FrozenClock
from iam_service.domain.hr import HrEvent
from iam_service.domain.operations import OperationKind, OperationStatus
from iam_service.domain.security import Role
from iam_service.web.app import create_app
from tests.support.service import drain, hire

OLD = "Birch-Lantern-58!"
NEW = "Violet#Harbor-2917"
THIRD = "Quartz!Meadow-6043"


@dataclass
class Me:
    employee_id: str
    username: str
    ref: AccountRef
    client: TestClient


@pytest.fixture
def me(container: Container, fake_ad: FakeConnector) -> Iterator[Me]:
    """A hired person whose AD password is ``OLD``, with an API token of
    their own (any role: changing one's password needs none)."""
    body = hire("E5001", given_name="Kenta", family_name="Morioka")
    container.hr_intake.submit(HrEvent.model_validate(body), actor="test")
    drain(container)
    with container.uow() as uow:
        person = uow.persons.by_employee_id("E5001")
        assert person is not None and person.id is not None
        [account] = uow.accounts.for_person(person.id)
    assert account.native_id is not None
    ref = AccountRef(account.native_id, account.username)
    fake_ad.set_password(ref, Secret(OLD), must_change=False)  # as an admin would
    token = container.auth.create_token(
        "kenta", Role.HR, actor="test", employee_id="E5001"
    )
    client = TestClient(
        create_app(container), headers={"Authorization": f"Bearer {token}"}
    )
    yield Me("E5001", account.username, ref, client)
    client.close()


def change(me: Me, current: str, new: str, **extra: Any) -> Any:
    body = {"system": "ad", "current_password": current, "new_password": new}
    return me.client.post("/api/v1/passwords/change", json=body | extra)


def counts(container: Container) -> dict[str, int]:
    with container.engine.connect() as connection:
        return {
            t.name: int(connection.scalar(select(func.count()).select_from(t)) or 0)
            for t in (orm.operations_table, password_history)
        }


def test_a_strong_password_is_set_and_the_old_one_stops_working(
    container: Container, fake_ad: FakeConnector, me: Me
) -> None:
    answer = change(me, OLD, NEW)
    assert answer.status_code == 202, answer.text
    operation = answer.json()["operation_id"]
    assert fake_ad.check_password(me.ref, Secret(OLD))  # not yet: it is queued
    assert drain(container) == 1
    state = me.client.get(f"/api/v1/passwords/changes/{operation}")
    assert state.json()["status"] == "succeeded"
    assert fake_ad.check_password(me.ref, Secret(NEW))
    assert not fake_ad.check_password(me.ref, Secret(OLD))
    with container.uow() as uow:
        op = uow.operations.get(operation)
        assert op is not None and op.kind is OperationKind.CHANGE_PASSWORD
        assert set(op.payload) == {"secret_ref", "must_change"}
        assert op.result["checks"] == ["new_binds"]
        actions = [r.action for r in uow.audit.iter_all()]
    assert "password.self_service_requested" in actions
    assert "operation.change_password" in actions
    assert container.queue.secrets is not None
    assert container.queue.secrets.get(op.payload["secret_ref"]) is None  # destroyed


def test_the_accounts_offered_are_ones_own(me: Me) -> None:
    found = me.client.get("/api/v1/passwords/accounts").json()["accounts"]
    assert found == [{"system": "ad", "username": me.username}]


def test_a_wrong_current_password_is_refused_then_throttled(
    container: Container, clock: FrozenClock, me: Me
) -> None:
    before = counts(container)
    for _ in range(5):
        wrong = change(me, "Not-my-password-1", NEW)
        assert wrong.status_code == 400
        assert wrong.json()["error"]["code"] == "current_password_wrong"
    # Even the right password is refused now: guessing is slowed (5 per 15 min).
    throttled = change(me, OLD, NEW)
    assert throttled.status_code == 429
    assert counts(container) == before  # no operation, no history
    clock.advance(timedelta(minutes=16))
    assert change(me, OLD, NEW).status_code == 202
    with container.uow() as uow:
        records = [r for r in uow.audit.iter_all() if r.action.startswith("password.")]
    reasons = [r.after.get("reason") for r in records if r.after]
    assert reasons.count("current_password") == 5
    assert any(r.action == "password.self_service_throttled" for r in records)
    text = repr([(r.before, r.after, r.reason) for r in records])
    assert OLD not in text and NEW not in text


def test_a_weak_new_password_is_refused_with_the_rule_it_breaks(
    container: Container, me: Me
) -> None:
    before = counts(container)
    answer = change(me, OLD, "Password1!", lang="ja")
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "password_rules"
    rules = {d["rule"] for d in error["details"]}
    assert "common" in rules
    assert "よく使われる" in " ".join(d["message"] for d in error["details"])
    assert "Password1!" not in answer.text
    assert counts(container) == before
    short = change(me, OLD, "Ab1!")
    assert {d["rule"] for d in short.json()["error"]["details"]} >= {"too_short"}


def test_the_last_passwords_cannot_come_back(container: Container, me: Me) -> None:
    assert change(me, OLD, NEW).status_code == 202
    drain(container)
    assert change(me, NEW, THIRD).status_code == 202
    drain(container)
    again = change(me, THIRD, NEW)
    assert again.status_code == 422
    assert [d["rule"] for d in again.json()["error"]["details"]] == ["reused"]
    same = change(me, THIRD, THIRD)
    assert "reused" in {d["rule"] for d in same.json()["error"]["details"]}
    with container.engine.connect() as connection:
        hashes = list(connection.execute(select(password_history.c.password_hash)))
    assert len(hashes) == 2
    assert all(h.startswith("$argon2id$") for (h,) in hashes)


def test_bad_input_is_refused_and_writes_nothing(container: Container, me: Me) -> None:
    before = counts(container)
    secret = "Violet#Harbor-2917-xyz"
    for body in (
        {"system": "ad", "current_password": OLD},  # no new password
        {"system": "ad", "current_password": OLD, "new_password": secret, "x": 1},
        {"system": "ad", "current_password": OLD, "new_password": "A1!" * 400},
        {"system": "", "current_password": OLD, "new_password": secret},
    ):
        answer = me.client.post("/api/v1/passwords/change", json=body)
        assert answer.status_code == 422, answer.text
        assert secret not in answer.text and OLD not in answer.text
    assert change(me, OLD, secret, system="saas").status_code == 404
    broken = me.client.post(
        "/api/v1/passwords/change",
        content=b'{"new_password": "' + secret.encode() + b'"',
        headers={"content-type": "application/json"},
    )
    assert broken.status_code == 400 and secret not in broken.text
    assert counts(container) == before


def test_a_refusal_by_the_directory_destroys_the_sealed_password(
    container: Container, fake_ad: FakeConnector, me: Me
) -> None:
    answer = change(me, OLD, NEW)
    fake_ad.fail_next("set_password", PolicyRefused("password history"))
    drain(container)
    with container.uow() as uow:
        op = uow.operations.get(answer.json()["operation_id"])
        assert op is not None and op.status is OperationStatus.DEAD
        ref = op.payload["secret_ref"]
    assert container.queue.secrets is not None
    assert container.queue.secrets.get(ref) is None
    assert fake_ad.check_password(me.ref, Secret(OLD))


def test_a_change_that_waits_too_long_is_cancelled_and_its_secret_destroyed(
    container: Container, clock: FrozenClock, me: Me
) -> None:
    answer = change(me, OLD, NEW)
    operation = answer.json()["operation_id"]
    with container.uow() as uow:
        op = uow.operations.get(operation)
        assert op is not None
        ref = op.payload["secret_ref"]
    assert container.queue.secrets is not None
    assert container.queue.secrets.get(ref) is not None
    assert container.passwords.settle() == 0  # still fresh
    clock.advance(timedelta(hours=1, minutes=1))
    assert container.passwords.settle() == 1
    assert container.queue.secrets.get(ref) is None
    state = me.client.get(f"/api/v1/passwords/changes/{operation}").json()
    assert state["status"] == "cancelled"
    assert drain(container) == 0


def test_someone_elses_change_is_not_found(
    container: Container, api: Any, me: Me
) -> None:
    operation = change(me, OLD, NEW).json()["operation_id"]
    other = api(Role.SYSADMIN)
    assert other.get(f"/api/v1/passwords/changes/{operation}").status_code == 404
    # A token that is no person's cannot change a password.
    refused = other.post(
        "/api/v1/passwords/change",
        json={"system": "ad", "current_password": OLD, "new_password": NEW},
    )
    assert refused.status_code == 403
