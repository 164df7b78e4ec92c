"""The privileged-account inventory on both stores, with the fake directory:
discovery, manual systems, flags, approvals (8.2), handovers on console,
termination and transfer (5.18), bad input refused with nothing written,
scheduled rotation, CSV and the daily e-mail."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from connectors.base import Secret
from connectors.fake import FakeConnector
from iam_service.adapters import orm
from iam_service.adapters.database import make_engine
from iam_service.adapters.orm_privileged import privileged_handovers
from iam_service.bootstrap import Container
from iam_service.domain.clock import FrozenClock
from iam_service.domain.model import Grant, GrantSource
from iam_service.domain.privileged import OwnerKind
from iam_service.domain.privileged_requests import (
    ApprovalCreate,
    CustodianChange,
    HandoverCreate,
    ManualAccountCreate,
    OwnerUpdate,
    RotationCreate,
)
from iam_service.domain.security import Role
from iam_service.services import privileged_jobs
from iam_service.services.errors import ConflictError, Forbidden, NotFoundError
from tests.support.db import TestDatabase
from tests.support.privileged import (
    OFFICER,
    SYSADMIN,
    admin_account,
    manual_system,
    move,
    person,
    recipient,
    signed_in_now,
    terminate,
)
from tests.support.service import build, drain
from tests.support.smtp import SmtpServer

OLD = "Old-Admin-Passw0rd!"


def _discovered(container: Container, username: str) -> dict[str, object]:
    container.privileged.discovery.discover(actor="test")
    [found] = [
        a
        for a in container.privileged.inventory.accounts()
        if a["username"] == username
    ]
    return found


def _counts(container: Container) -> tuple[int, int, int]:
    with container.session_factory() as session:
        return (
            session.scalar(select(func.count()).select_from(privileged_handovers)) or 0,
            session.scalar(select(func.count()).select_from(orm.operations_table)) or 0,
            session.scalar(select(func.count()).select_from(orm.audit_records)) or 0,
        )


def test_discovery_finds_admins_and_flags_what_nobody_approved(
    container: Container, fake_ad: FakeConnector
) -> None:
    admin_account(fake_ad, "adm-root", OLD)
    found = _discovered(container, "adm-root")
    assert found["rights"] == ["Domain Admins"]
    assert found["flags"] == ["no_approval", "no_owner"]

    person(container, "E0100")
    account_id = int(str(found["id"]))
    container.privileged.inventory.set_owner(
        account_id,
        OwnerUpdate(kind=OwnerKind.SERVICE, employee_id="E0100", service_name="Backup"),
        SYSADMIN,
    )
    view = container.privileged.inventory.approve(
        account_id,
        ApprovalCreate(reason="domain backups", authorisation="CAB-7"),
        OFFICER,
    )
    assert view["flags"] == []
    assert view["approvals"][0]["approver"] == "test:officer"

    # Gone from the directory: kept, but no longer listed as privileged.
    fake_ad.remove_from_group(
        fake_ad.find_account(username="adm-root").ref, "Domain Admins"
    )  # type: ignore[union-attr]
    [report] = container.privileged.discovery.discover(actor="test")
    assert report.gone == ["adm-root"]
    assert container.privileged.inventory.accounts() == []


def test_an_elevation_grant_approves_for_its_window_only(
    container: Container, fake_ad: FakeConnector, clock: FrozenClock
) -> None:
    person(container, "E0101")
    drain(container)  # E0101's AD account exists: the admin account is theirs
    ref = fake_ad.find_account(employee_id="E0101").ref  # type: ignore[union-attr]
    fake_ad.add_to_group(ref, "Domain Admins")
    found = _discovered(container, ref.username)
    assert found["owner"]["person"]["employee_id"] == "E0101"  # type: ignore[index]
    with container.uow() as uow:
        who = uow.persons.by_employee_id("E0101")
        assert who is not None and who.id is not None
        uow.grants.add(
            Grant(
                person_id=who.id,
                entitlement_ref="ad:Domain Admins",
                source=GrantSource.ELEVATION,
                granted_at=clock.now(),
                expires_at=clock.now() + timedelta(hours=2),
                reason="change window",
            )
        )
        uow.commit()
    account_id = int(str(found["id"]))
    assert container.privileged.inventory.account(account_id)["flags"] == []
    clock.advance(timedelta(hours=3))
    assert "no_approval" in container.privileged.inventory.account(account_id)["flags"]


def test_nobody_approves_an_account_they_look_after(
    container: Container, fake_ad: FakeConnector
) -> None:
    person(container, "E0900")
    admin_account(fake_ad, "adm-a", OLD)
    account_id = int(str(_discovered(container, "adm-a")["id"]))
    container.privileged.inventory.add_custodian(
        account_id, CustodianChange(employee_id="E0900"), SYSADMIN
    )
    with pytest.raises(Forbidden, match=r"5\.3"):
        container.privileged.inventory.approve(
            account_id, ApprovalCreate(reason="mine"), OFFICER
        )


def test_manual_systems_are_registered_by_hand(container: Container) -> None:
    person(container, "E0102")
    key = manual_system(container)
    view = container.privileged.inventory.register_manual(
        ManualAccountCreate(
            system_key=key,
            username="Administrator",
            description="fs01 local administrator",
            owner=OwnerUpdate(kind=OwnerKind.PERSON, employee_id="E0102"),
            custodians=("E0102",),
        ),
        SYSADMIN,
    )
    assert (
        view["source"] == "manual" and view["custodians"][0]["employee_id"] == "E0102"
    )
    with pytest.raises(ConflictError):
        container.privileged.inventory.register_manual(
            ManualAccountCreate(system_key=key, username="administrator"), SYSADMIN
        )
    # "ad" is no manual system: its accounts are discovered, not typed in.
    with pytest.raises(Exception, match="no manual system"):
        container.privileged.inventory.register_manual(
            ManualAccountCreate(system_key="ad", username="x"), SYSADMIN
        )


def test_a_console_handover_rotates_and_records_the_successor(
    container: Container, fake_ad: FakeConnector
) -> None:
    for who in ("E0110", "E0111"):
        person(container, who)
    ref = admin_account(fake_ad, "adm-b", OLD)
    account_id = int(str(_discovered(container, "adm-b")["id"]))
    container.privileged.inventory.add_custodian(
        account_id, CustodianChange(employee_id="E0110"), SYSADMIN
    )
    handover = container.privileged.handovers.start(
        HandoverCreate(outgoing_employee_id="E0110", successor_employee_id="E0111"),
        OFFICER,
    )
    assert [r["state"] for r in handover["rotations"]] == ["queued"]
    drain(container)
    [rotation] = container.privileged.handovers.view(handover["id"])["rotations"]
    assert rotation["state"] == "verified"
    assert rotation["checks"] == ["new_binds", "last_change_moved"]
    assert not fake_ad.check_password(ref, Secret(OLD))
    custodians = container.privileged.inventory.account(account_id)["custodians"]
    assert [c["employee_id"] for c in custodians] == ["E0111"]


def test_a_handover_to_a_terminated_successor_is_refused_and_writes_nothing(
    container: Container, fake_ad: FakeConnector, api: object
) -> None:
    for who in ("E0120", "E0121"):
        person(container, who)
    admin_account(fake_ad, "adm-c", OLD)
    account_id = int(str(_discovered(container, "adm-c")["id"]))
    container.privileged.inventory.add_custodian(
        account_id, CustodianChange(employee_id="E0120"), SYSADMIN
    )
    terminate(container, "E0121")
    client: TestClient = api(Role.SECURITY_OFFICER)  # type: ignore[operator]
    before = _counts(container)
    answer = client.post(
        "/api/v1/handovers",
        json={"outgoing_employee_id": "E0120", "successor_employee_id": "E0121"},
    )
    assert answer.status_code == 409
    assert "terminated" in answer.json()["error"]["message"]
    assert _counts(container) == before


def test_a_rotation_of_an_account_not_in_the_inventory_is_refused(
    container: Container, api: object
) -> None:
    client: TestClient = api(Role.SECURITY_OFFICER)  # type: ignore[operator]
    before = _counts(container)
    answer = client.post("/api/v1/privileged-accounts/4242/rotate", json={})
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"
    assert _counts(container) == before
    with pytest.raises(NotFoundError):
        container.privileged.links.issue(4242, recipient("E0001"))


def test_a_custodian_who_leaves_starts_a_handover_and_the_case_lists_it(
    container: Container, fake_ad: FakeConnector
) -> None:
    for who in ("E0130", "E0131"):
        person(container, who)
    ref = admin_account(fake_ad, "adm-d", OLD)
    account_id = int(str(_discovered(container, "adm-d")["id"]))
    container.privileged.inventory.add_custodian(
        account_id, CustodianChange(employee_id="E0130"), SYSADMIN
    )
    terminate(container, "E0130")
    [handover] = container.privileged.handovers.recent()
    assert (handover["trigger"], handover["successor"]) == ("termination", None)
    with container.uow() as uow:
        [case] = [c for c in uow.offboarding.find() if c.employee_id == "E0130"]  # type: ignore[attr-defined]
        items = [
            i for i in uow.offboarding.items(case.id) if i.kind == "custodian_handover"
        ]  # type: ignore[attr-defined]
    assert [i.reference for i in items] == [f"privileged:{account_id}"]
    drain(container)  # 5.18: changed at once, before anyone is named
    waiting = container.privileged.inventory.account(account_id)["flags"]
    assert "successor_needed" in waiting
    assert not fake_ad.check_password(ref, Secret(OLD))
    # The successor named later becomes custodian and may collect it.
    view = container.privileged.handovers.name_successor(
        handover["id"], _successor("E0131"), OFFICER
    )
    assert view["rotations"][0]["recipient"] == "E0131"
    assert view["rotations"][0]["collectable"]
    flags = container.privileged.inventory.account(account_id)["flags"]
    assert "custodian_left" not in flags
    # Once collected, the offboarding case's handover item is done (5.18).
    who = recipient("E0131")
    token = container.privileged.links.issue(view["rotations"][0]["id"], who)
    with container.uow() as uow:
        session_id = signed_in_now(uow, "E0131")
    container.privileged.links.reveal(token, who, session_id)
    with container.uow() as uow:
        [item] = [
            i
            for i in uow.offboarding.items(case.id or 0)
            if i.kind == "custodian_handover"
        ]
    assert (item.status, item.received_by) == ("done", "E0131")


def test_moving_out_of_an_admin_position_hands_over(
    container: Container, fake_ad: FakeConnector
) -> None:
    person(container, "E0140", department="IT", title="System Administrator")
    admin_account(fake_ad, "adm-e", OLD)
    account_id = int(str(_discovered(container, "adm-e")["id"]))
    container.privileged.inventory.add_custodian(
        account_id, CustodianChange(employee_id="E0140"), SYSADMIN
    )
    move(container, "E0140", "IT", "Engineer")  # still in IT: an admin position
    assert container.privileged.handovers.recent() == []
    move(container, "E0140", "SALES", "Staff")
    [handover] = container.privileged.handovers.recent()
    assert handover["trigger"] == "transfer" and handover["outgoing"] == "E0140"


def test_scheduled_rotation_goes_to_the_custodian_after_the_period(
    container: Container, fake_ad: FakeConnector, clock: FrozenClock
) -> None:
    person(container, "E0150")
    admin_account(fake_ad, "adm-f", OLD)
    account_id = int(str(_discovered(container, "adm-f")["id"]))
    container.privileged.inventory.add_custodian(
        account_id, CustodianChange(employee_id="E0150"), SYSADMIN
    )
    systems = container.privileged.systems
    assert privileged_jobs.rotate_due(container.uow, container.policy, systems) == 0
    clock.advance(timedelta(days=181))  # policies/privileged.yaml: 180 days
    assert "rotation_due" in container.privileged.inventory.account(account_id)["flags"]
    assert privileged_jobs.rotate_due(container.uow, container.policy, systems) == 1
    assert privileged_jobs.rotate_due(container.uow, container.policy, systems) == 0
    drain(container)
    assert (
        "rotation_due"
        not in container.privileged.inventory.account(account_id)["flags"]
    )
    [handover] = container.privileged.handovers.recent()
    assert handover["rotations"][0]["recipient"] == "E0150"


def test_the_csv_has_a_bom_stable_columns_and_no_formula(
    container: Container, fake_ad: FakeConnector, api: object
) -> None:
    admin_account(fake_ad, "=cmd", OLD)
    container.privileged.discovery.discover(actor="test")
    client: TestClient = api(Role.AUDITOR)  # type: ignore[operator]
    answer = client.get("/api/v1/privileged-accounts/export.csv")
    assert answer.status_code == 200
    assert answer.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0][:3] == [
        "システム [system]",
        "アカウント [username]",
        "固有ID [native_id]",
    ]
    assert rows[1][1] == "'=cmd"
    assert "承認なし [no_approval]" in rows[1][14]


def test_the_daily_mail_lists_flagged_accounts_once_a_day(
    database: TestDatabase,
    clock: FrozenClock,
    fake_ad: FakeConnector,
    smtp_server: SmtpServer,
) -> None:
    container = build(
        database,
        {"ad": fake_ad},
        clock,
        **smtp_server.service_settings(),
        security_officer_email="iso@example.test",
    )
    try:
        admin_account(fake_ad, "adm-g", OLD)
        container.privileged.discovery.discover(actor="test")
        assert container.privileged.mail.digest() == 1
        assert container.privileged.mail.digest() == 1  # same day, same message
        assert container.mail.deliver_due() == 1
        [mail] = smtp_server.messages
        assert mail.rcpt_tos == ("iso@example.test",)
        assert "adm-g" in mail.body and "承認なし" in mail.body
    finally:
        container.close()


def _successor(employee_id: str) -> object:
    from iam_service.domain.privileged_requests import SuccessorUpdate

    return SuccessorUpdate(successor_employee_id=employee_id)


def test_the_migration_creates_the_tables_as_mapped(database: TestDatabase) -> None:
    engine = make_engine(database.url, schema=database.schema)
    orm.load_areas()
    mine = (
        "privileged_accounts",
        "privileged_custodians",
        "privileged_approvals",
        "privileged_handovers",
        "privileged_rotations",
        "sealed_secrets",
    )
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "include_object": lambda obj, _name, kind, _reflected, _other: (
                        (obj.name if kind == "table" else obj.table.name) in mine
                    ),
                    "compare_type": True,
                },
            )
            differences = compare_metadata(context, orm.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_a_second_rotation_proves_the_first_password_no_longer_binds(
    container: Container, fake_ad: FakeConnector
) -> None:
    person(container, "E0160")
    ref = admin_account(fake_ad, "adm-h", OLD)
    account_id = int(str(_discovered(container, "adm-h")["id"]))
    body = RotationCreate(recipient_employee_id="E0160")
    first = container.privileged.handovers.rotate_account(account_id, body, OFFICER)
    drain(container)
    fake_ad.set_enabled(ref, False)  # a disabled account: proved by pwdLastSet
    second = container.privileged.handovers.rotate_account(account_id, body, OFFICER)
    drain(container)
    fake_ad.set_enabled(ref, True)
    [old] = container.privileged.handovers.view(first["id"])["rotations"]
    [new] = container.privileged.handovers.view(second["id"])["rotations"]
    assert old["state"] == "superseded" and not old["collectable"]
    assert new["checks"] == ["last_change_moved"]
    assert container.privileged.store.get(f"rotation-{old['id']}") is None
    third = container.privileged.handovers.rotate_account(account_id, body, OFFICER)
    drain(container)
    [newest] = container.privileged.handovers.view(third["id"])["rotations"]
    assert newest["checks"] == ["new_binds", "old_refused", "last_change_moved"]


def test_a_secret_left_behind_after_it_was_shown_is_purged(
    container: Container, fake_ad: FakeConnector
) -> None:
    person(container, "E0170")
    admin_account(fake_ad, "adm-p", OLD)
    account_id = int(str(_discovered(container, "adm-p")["id"]))
    body = RotationCreate(recipient_employee_id="E0170")
    view = container.privileged.handovers.rotate_account(account_id, body, OFFICER)
    drain(container)
    rotation_id = view["rotations"][0]["id"]
    who = recipient("E0170")
    token = container.privileged.links.issue(rotation_id, who)
    with container.uow() as uow:
        session_id = signed_in_now(uow, "E0170")
    container.privileged.links.reveal(token, who, session_id)
    store = container.privileged.store
    # As if the process died between recording "shown" and destroying it:
    store.put(f"rotation-{rotation_id}", Secret("Left-Behind-Passw0rd!"))
    store.put("unrelated", Secret("Not-Ours-Passw0rd!"))
    assert privileged_jobs.purge_secrets(container.uow, store) == 1
    assert store.get(f"rotation-{rotation_id}") is None
    assert store.get("unrelated") is not None
