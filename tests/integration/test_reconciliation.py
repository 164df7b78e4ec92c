"""Drift reconciliation against the fake AD, on SQLite and PostgreSQL: what
is found, what the policy removes or restores through the queue, what is
only reported, the stored results, the register gate, and a grant that
arrives while a run reads is never taken for drift."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from connectors.base import AccountRef, AccountSpec, AccountState
from connectors.fake import FakeConnector
from iam_service.adapters.orm_reconcile import reconcile_runs
from iam_service.bootstrap import Container
from iam_service.domain.clock import FrozenClock
from iam_service.domain.hr import HrEvent
from iam_service.domain.model import Grant, GrantSource
from iam_service.domain.operations import OperationKind, Priority
from iam_service.domain.security import Role
from iam_service.web.app import create_app
from jobs.scheduler import JOBS, run_exclusive
from tests.support.access import hire_all, staff
from tests.support.db import TestDatabase
from tests.support.service import build, build_with_factory, drain, event

ADMINS = "Domain Admins"


def _ref(fake: FakeConnector, employee_id: str) -> AccountRef:
    state = fake.find_account(employee_id=employee_id)
    assert state is not None
    return state.ref


def _drifted(container: Container, fake: FakeConnector) -> None:
    """E101 got Domain Admins and GG-Finance by hand and lost GG-Sales; an
    account of nobody appeared; E102 left but was enabled again by hand."""
    hire_all(container, staff("E101", "SALES"), staff("E102", "SALES"))
    drain(container)
    e101 = _ref(fake, "E101")
    fake.known_groups.add("Printers-3F")
    fake.add_to_group(e101, ADMINS)
    fake.add_to_group(e101, "GG-Finance")
    fake.add_to_group(e101, "Printers-3F")  # not in the catalogue: not ours
    fake.remove_from_group(e101, "GG-Sales")
    fake.create_account(
        AccountSpec("stray.admin", "X999", "Stray", "Admin", "stray@example.test"),
        None,
    )
    container.hr_intake.submit(
        HrEvent.model_validate(event("terminate", "E102", "t-E102")),
        actor="test:hr",
    )
    drain(container)
    fake.set_enabled(_ref(fake, "E102"), True)


def _run(client: TestClient, apply: bool) -> dict[str, Any]:
    response = client.post("/api/v1/reconcile/ad", json={"apply": apply})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _items(client: TestClient, run_id: int) -> set[tuple[str, str, str, str | None]]:
    found = client.get(f"/api/v1/reconcile/runs/{run_id}").json()["items"]
    return {
        (i["kind"], i["action"], i["username"] if i["kind"] == "orphan" else
         i["employee_id"], i["entitlement"])
        for i in found
    }  # fmt: skip


def test_drift_is_found_then_removed_restored_or_reported_as_policy_says(
    container: Container,
    fake_ad: FakeConnector,
    api: Callable[[Role], TestClient],
) -> None:
    _drifted(container, fake_ad)
    sysadmin, auditor = api(Role.SYSADMIN), api(Role.AUDITOR)

    dry = _run(sysadmin, apply=False)
    wanted = ("accounts", "unexpected", "missing", "orphans", "terminated_enabled")
    assert {k: dry["counts"][k] for k in wanted} == {
        "accounts": 3,
        "unexpected": 2,
        "missing": 1,
        "orphans": 1,
        "terminated_enabled": 1,
    }
    assert _items(auditor, dry["id"]) == {
        ("unexpected", "would_remove", "E101", f"ad:{ADMINS}"),
        ("unexpected", "reported", "E101", "ad:GG-Finance"),
        ("missing", "would_add", "E101", "ad:GG-Sales"),
        ("orphan", "reported", "stray.admin", None),
        ("terminated_enabled", "reported", "E102", None),
    }
    assert dry["counts"]["removals_queued"] == dry["counts"]["additions_queued"] == 0
    with container.uow() as uow:
        assert not [o for o in uow.operations.list() if "reconcile" in (o.cause or "")]

    applied = _run(sysadmin, apply=True)
    assert applied["counts"]["removals_queued"] == 1
    assert applied["counts"]["additions_queued"] == 1
    with container.uow() as uow:
        queued = {
            (o.kind, o.payload["group"], o.priority)
            for o in uow.operations.list()
            if (o.cause or "") == f"reconcile:{applied['id']}"
        }
        drift = uow.audit.for_target(f"account:ad:{_account_id(uow, 'E101')}")
        removed = [r for r in drift if r.action == "reconcile.drift_removed"]
        notices = [
            n for n in uow.notices.open("sysadmin") if n.kind == "reconcile_findings"
        ]
    assert queued == {
        (OperationKind.REMOVE_FROM_GROUP, ADMINS, Priority.ELEVATED),
        (OperationKind.ADD_TO_GROUP, "GG-Sales", Priority.NORMAL),
    }
    assert [(r.reason, r.after["entitlement"]) for r in removed] == [
        ("drift", f"ad:{ADMINS}")
    ]
    assert "stray.admin" in notices[-1].detail and "E102" in notices[-1].detail

    drain(container)
    groups = fake_ad.find_account(employee_id="E101").groups  # type: ignore[union-attr]
    assert ADMINS not in groups and "GG-Sales" in groups
    assert {"GG-Finance", "Printers-3F"} <= groups  # reported only / not ours
    again = _run(sysadmin, apply=True)
    assert _items(auditor, again["id"]) == {
        ("unexpected", "reported", "E101", "ad:GG-Finance"),
        ("orphan", "reported", "stray.admin", None),
        ("terminated_enabled", "reported", "E102", None),
    }
    runs = auditor.get("/api/v1/reconcile/runs", params={"system": "ad"}).json()
    assert [r["id"] for r in runs["runs"]] == [again["id"], applied["id"], dry["id"]]


def _account_id(uow: Any, employee_id: str) -> int:
    person = uow.persons.by_employee_id(employee_id)
    [account] = uow.accounts.for_person(person.id)
    return int(account.id)


class GrantingWhileRead(FakeConnector):
    """A directory read during which an access request is approved: the
    grant and its membership land after the run indexed what it expected."""

    def __init__(self, grant: Callable[[], None], **kw: Any) -> None:
        super().__init__(**kw)
        self._grant = grant

    def iter_accounts(self, page_size: int = 500) -> Iterator[AccountState]:
        self._grant()
        return super().iter_accounts(page_size)


def test_a_grant_made_while_the_run_reads_is_not_drift(
    database: TestDatabase, clock: FrozenClock
) -> None:
    holder: dict[str, Container] = {}

    def grant() -> None:
        c = holder["c"]
        with c.uow() as uow:
            person = uow.persons.by_employee_id("E101")
            assert person is not None and person.id is not None
            uow.grants.add(
                Grant(person.id, "ad:GG-Engineering", GrantSource.REQUEST, clock.now())
            )
            uow.commit()
        fake.add_to_group(_ref(fake, "E101"), "GG-Engineering")

    fake = GrantingWhileRead(
        grant,
        system_id="ad",
        known_groups={"GG-Sales", "GG-All-Staff", "GG-Engineering"},
    )
    c = holder["c"] = build(database, {"ad": fake}, clock)
    try:
        hire_all(c, staff("E101", "SALES"))
        drain(c)
        run = c.reconciliation.run("ad", apply=True, actor="test")
        assert run.counts["unexpected"] == 0
        assert run.counts["resolved_meanwhile"] == 1
        assert "GG-Engineering" in fake.find_account(employee_id="E101").groups  # type: ignore[union-attr]
    finally:
        c.close()


def test_only_an_approved_system_is_read(
    database: TestDatabase, clock: FrozenClock, fake_ad: FakeConnector
) -> None:
    c = build_with_factory(
        database, {"ad": fake_ad}.__getitem__, {"ad": fake_ad.capabilities}, clock,
        approve=False,
    )  # fmt: skip
    try:
        hire_all(c, staff("E101", "SALES"))
        calls = len(fake_ad.calls)
        token = c.auth.create_token("t-sys", Role.SYSADMIN, actor="test")
        with TestClient(
            create_app(c), headers={"Authorization": f"Bearer {token}"}
        ) as http:
            refused = http.post("/api/v1/reconcile/ad", json={"apply": True})
            unknown = http.post("/api/v1/reconcile/nowhere")
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["code"] == "system_not_approved"
        assert unknown.status_code == 404
        assert len(fake_ad.calls) == calls  # never asked
        with c.session_factory() as s:
            assert s.scalar(select(func.count()).select_from(reconcile_runs)) == 0
    finally:
        c.close()


def test_the_scheduled_job_reconciles_each_system_as_often_as_the_policy_says(
    container: Container, fake_ad: FakeConnector, clock: FrozenClock
) -> None:
    _drifted(container, fake_ad)
    job = next(j for j in JOBS if j.name == "reconcile_systems")
    assert run_exclusive(container, job)
    assert run_exclusive(container, job)  # not due again yet
    with container.uow() as uow:
        [run] = uow.reconcile.runs("ad")
        assert run.apply and run.actor == "scheduler"
    clock.advance(timedelta(hours=24))
    assert run_exclusive(container, job)
    with container.uow() as uow:
        assert len(uow.reconcile.runs("ad")) == 2
