"""Offboarding cases on both stores, with the in-memory connector: the case
opens with the termination, refuses to close while anything is outstanding,
write-offs need the security officer (never the requester, 5.3), accounts
are deleted after the retention only from a closed case with its data
handed over, and a rehire before deletion brings the same accounts back.
Bad input is a clear 4xx and writes nothing."""

from __future__ import annotations

from datetime import timedelta

from connectors.base import AccountRef
from connectors.fake import FakeConnector
from iam_service.bootstrap import Container
from iam_service.domain.clock import FrozenClock
from iam_service.domain.security import Role
from iam_service.services import offboarding_jobs
from tests.support.offboarding import (
    Clients,
    audit_count,
    case_of,
    give_assets,
    hire_person,
    submit,
    terminate,
)
from tests.support.service import drain, event

RETURNED = {"condition": "good", "received_by": "General Affairs desk"}


def _leaver(c: Container, clients: Clients, employee_id: str) -> list[str]:
    hire_person(c, employee_id)
    drain(c)
    tags = give_assets(clients(Role.SYSADMIN), employee_id)
    terminate(c, employee_id)
    return tags


def test_the_termination_opens_one_case_with_the_whole_checklist(
    container: Container, clients: Clients, fake_ad: FakeConnector
) -> None:
    laptop, card = _leaver(container, clients, "E100")
    case = case_of(container, "E100")
    assert case["status"] == "open" and case["department"] == "SALES"
    kinds = sorted((i["kind"], (i["asset"] or {}).get("tag")) for i in case["items"])
    assert kinds == [
        ("asset_return", card),
        ("asset_return", laptop),
        ("card_deactivation", card),
        ("data_handover", None),
    ]
    [account] = case["accounts"]
    assert account["state"] == "enabled" and not account["disabled_verified"]
    assert account["unfinished_steps"] >= 1  # queued, not yet run

    terminate(container, "E100")  # the same event again: no second case
    assert len(container.offboarding.cases.for_person("E100")) == 1
    drain(container)
    [account] = case_of(container, "E100")["accounts"]
    assert account["state"] == "disabled" and account["disabled_verified"]
    state = fake_ad.get_account(AccountRef(account["native_id"], ""))
    assert not state.enabled and state.location == fake_ad.leavers_location


def test_the_case_closes_only_when_nothing_is_outstanding(
    container: Container, clients: Clients
) -> None:
    laptop, card = _leaver(container, clients, "E101")
    hr = clients(Role.HR)
    case_id = case_of(container, "E101")["id"]
    refused = hr.post(f"/api/v1/offboarding/cases/{case_id}/close", json={})
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "case_outstanding"
    assert {d["kind"] for d in error["details"]} == {
        "account",
        "asset_return",
        "card_deactivation",
    }
    drain(container)
    for tag in (laptop, card):
        ok = hr.post(
            f"/api/v1/offboarding/cases/{case_id}/assets/{tag}/return", json=RETURNED
        )
        assert ok.status_code == 200, ok.text
    task = next(i for i in ok.json()["items"] if i["kind"] == "card_deactivation")
    done = hr.post(
        f"/api/v1/offboarding/cases/{case_id}/items/{task['id']}/complete",
        json={"resolution": "deactivated", "note": "blocked at the front desk"},
    )
    assert done.json()["can_close"]
    closed = hr.post(
        f"/api/v1/offboarding/cases/{case_id}/close", json={"note": "all back"}
    )
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    asset = clients(Role.AUDITOR).get(f"/api/v1/assets/{laptop}").json()
    assert asset["state"] == "returned" and asset["holder"] is None
    [period] = asset["history"]
    assert period["outcome"] == "returned" and period["condition"] == "good"
    assert period["received_by"] == "General Affairs desk"


def test_returning_an_asset_the_person_does_not_hold_writes_nothing(
    container: Container, clients: Clients
) -> None:
    _leaver(container, clients, "E102")
    hire_person(container, "E103")
    admin = clients(Role.SYSADMIN)
    [other_laptop, _] = give_assets(admin, "E103", tag="PC")
    case_id = case_of(container, "E102")["id"]
    hr = clients(Role.HR)
    before = audit_count(container)
    on_case = hr.post(
        f"/api/v1/offboarding/cases/{case_id}/assets/{other_laptop}/return",
        json=RETURNED,
    )
    in_register = admin.post(
        f"/api/v1/assets/{other_laptop}/return",
        json={"employee_id": "E102", **RETURNED},
    )
    assert on_case.status_code == in_register.status_code == 409
    assert "E102" in in_register.json()["error"]["message"]
    assert audit_count(container) == before
    asset = admin.get(f"/api/v1/assets/{other_laptop}").json()
    assert asset["state"] == "in_use" and asset["holder"]["employee_id"] == "E103"


def test_a_write_off_needs_a_reason_and_the_security_officers_approval(
    container: Container, clients: Clients
) -> None:
    laptop, card = _leaver(container, clients, "E104")
    drain(container)
    case_id = case_of(container, "E104")["id"]
    base = f"/api/v1/offboarding/cases/{case_id}/assets/{laptop}/write-off"
    hr = clients(Role.HR, "E900")
    officer = clients(Role.SECURITY_OFFICER, "E901")
    before = audit_count(container)
    no_reason = hr.post(base, json={"kind": "lost", "reason": "   "})
    assert no_reason.status_code == 422
    no_request = officer.post(f"{base}/approve", json={})
    assert no_request.status_code == 409
    assert audit_count(container) == before

    assert hr.post(base, json={"kind": "lost", "reason": "left on a train"}).is_success
    assert hr.post(f"{base}/approve", json={}).status_code == 403  # not an officer
    self_approval = clients(Role.SECURITY_OFFICER, "E900").post(
        f"{base}/approve", json={}
    )
    assert self_approval.status_code == 403
    assert "own write-off" in self_approval.json()["error"]["message"]
    hr.post(f"/api/v1/offboarding/cases/{case_id}/assets/{card}/return", json=RETURNED)
    task = next(
        i
        for i in case_of(container, "E104")["items"]
        if i["kind"] == "card_deactivation"
    )
    hr.post(
        f"/api/v1/offboarding/cases/{case_id}/items/{task['id']}/complete",
        json={"resolution": "deactivated"},
    )
    waiting = hr.post(f"/api/v1/offboarding/cases/{case_id}/close", json={})
    assert waiting.status_code == 409
    [detail] = waiting.json()["error"]["details"]
    assert "awaiting the security officer" in detail["message"]

    approved = officer.post(f"{base}/approve", json={"note": "police report filed"})
    assert approved.status_code == 200
    item = next(i for i in approved.json()["items"] if i["asset"]["tag"] == laptop)
    assert item["status"] == "written_off" and item["resolution"] == "lost"
    assert item["write_off"]["requested_by"] == "token:t1-hr"
    assert item["write_off"]["decided_by"] == "token:t2-security_officer"
    assert hr.post(f"/api/v1/offboarding/cases/{case_id}/close", json={}).is_success
    asset = hr.get(f"/api/v1/assets/{laptop}").json()
    assert asset["state"] == "lost" and asset["history"][0]["outcome"] == "lost"


def _close(container: Container, clients: Clients, employee_id: str) -> int:
    drain(container)
    hr = clients(Role.HR)
    case = case_of(container, employee_id)
    for item in case["items"]:
        path = f"/api/v1/offboarding/cases/{case['id']}"
        if item["kind"] == "asset_return":
            hr.post(f"{path}/assets/{item['asset']['tag']}/return", json=RETURNED)
        elif item["kind"] == "card_deactivation":
            hr.post(
                f"{path}/items/{item['id']}/complete",
                json={"resolution": "deactivated"},
            )
    closed = hr.post(f"/api/v1/offboarding/cases/{case['id']}/close", json={})
    assert closed.status_code == 200, closed.text
    return int(case["id"])


def test_accounts_are_deleted_after_the_retention_once_data_is_handed_over(
    container: Container, clients: Clients, clock: FrozenClock, fake_ad: FakeConnector
) -> None:
    _leaver(container, clients, "E105")
    case_id = _close(container, clients, "E105")
    native = case_of(container, "E105")["accounts"][0]["native_id"]
    retention = container.policy().offboarding.account_retention_days
    clock.advance(timedelta(days=retention - 1))
    assert offboarding_jobs.delete_due(container.uow, container.lifecycle) == 0
    clock.advance(timedelta(days=2))
    assert offboarding_jobs.delete_due(container.uow, container.lifecycle) == 0
    case = case_of(container, "E105")
    assert case["deletion"]["held_at"]  # the mailbox has not been handed over
    with container.uow() as uow:
        held = [n for n in uow.notices.open() if n.kind == "offboarding_deletion_held"]
        assert len(held) == 1 and "E105" in held[0].detail
    offboarding_jobs.delete_due(container.uow, container.lifecycle)
    with container.uow() as uow:  # said once, not on every tick
        assert (
            len(
                [n for n in uow.notices.open() if n.kind == "offboarding_deletion_held"]
            )
            == 1
        )
    assert fake_ad.get_account(AccountRef(native, ""))

    [handover] = case["deletion"]["waiting_for_handover"]
    hr = clients(Role.HR)
    bad = hr.post(
        f"/api/v1/offboarding/cases/{case_id}/items/{handover}/complete",
        json={"resolution": "deactivated"},
    )
    assert bad.status_code == 409
    done = hr.post(
        f"/api/v1/offboarding/cases/{case_id}/items/{handover}/complete",
        json={"resolution": "moved_to_manager", "note": "mailbox to E200"},
    )
    assert done.status_code == 200, done.text
    assert offboarding_jobs.delete_due(container.uow, container.lifecycle) == 1
    drain(container)
    offboarding_jobs.delete_due(container.uow, container.lifecycle)
    case = case_of(container, "E105")
    assert case["accounts"][0]["state"] == "deleted"
    assert case["deletion"]["accounts_deleted_at"]
    assert native not in {a.ref.native_id for a in fake_ad.iter_accounts()}


def test_a_rehire_before_deletion_restores_the_same_account_with_birthright_only(
    container: Container, clients: Clients, clock: FrozenClock, fake_ad: FakeConnector
) -> None:
    hire_person(container, "E106")
    drain(container)
    native = case_native = None
    with container.uow() as uow:
        person = uow.persons.by_employee_id("E106")
        assert person is not None and person.id is not None
        [account] = uow.accounts.for_person(person.id)
        native = account.native_id
    assert native is not None
    ref = AccountRef(native, "")
    fake_ad.add_to_group(ref, "GG-Finance")  # an extra right, held before leaving
    give_assets(clients(Role.SYSADMIN), "E106")
    terminate(container, "E106")
    drain(container)
    case_native = case_of(container, "E106")["accounts"][0]["native_id"]
    assert case_native == native
    assert fake_ad.get_account(ref).location == fake_ad.leavers_location

    clock.advance(timedelta(days=3))
    rehire = event(
        "rehire",
        "E106",
        "back-E106",
        given_name="Taro",
        family_name="LeaverE106",
        email="e106@example.test",
        department="ENG",
        title="Staff",
    )
    submit(container, rehire)
    drain(container)
    state = fake_ad.get_account(ref)  # the same account, not a new one
    assert state.enabled and state.location == fake_ad.users_location
    assert not state.hidden_from_address_lists
    assert state.groups == {"GG-All-Staff", "GG-Engineering"}
    [case] = container.offboarding.cases.for_person("E106")
    detail = container.offboarding.cases.get(case["id"])
    assert detail["status"] == "cancelled"
    assert {i["status"] for i in detail["items"]} == {"cancelled"}
    with container.uow() as uow:
        actions = [
            r.action for r in uow.audit.for_target(f"offboarding_case:{case['id']}")
        ]
    assert actions[-1] == "offboarding.case_cancelled"
    calls = [name for name, _ in fake_ad.calls]
    assert "restore_account" in calls
    assert calls.index("restore_account") > calls.index("move_to_leavers")


def test_a_rehire_after_closing_calls_off_the_deletion(
    container: Container, clients: Clients, clock: FrozenClock, fake_ad: FakeConnector
) -> None:
    _leaver(container, clients, "E107")
    case_id = _close(container, clients, "E107")
    submit(
        container,
        event(
            "rehire",
            "E107",
            "back-E107",
            given_name="Taro",
            family_name="LeaverE107",
            email="e107@example.test",
            department="SALES",
            title="Staff",
        ),
    )
    clock.advance(timedelta(days=400))
    assert offboarding_jobs.delete_due(container.uow, container.lifecycle) == 0
    drain(container)
    detail = container.offboarding.cases.get(case_id)
    assert detail["status"] == "closed" and detail["deletion"]["cancelled_at"]
    assert detail["accounts"][0]["state"] == "enabled"
