"""The asset register over the API on both stores (5.9, 7.2, 7.10): typed
assets with unique tags, serials and card numbers, holders and history,
CSV import all or nothing with the bad rows named, export, stock moves and
the periodic spare-card check (7.2)."""

from __future__ import annotations

from datetime import timedelta

from iam_service.bootstrap import Container
from iam_service.domain.clock import FrozenClock
from iam_service.domain.security import Role
from iam_service.services import card_checks
from jobs.scheduler import JOBS, run_exclusive
from tests.support.offboarding import Clients, audit_count, hire_person, terminate
from tests.support.service import drain

HEADER = "asset_type,tag,serial,description,card_number,holder_employee_id,state\n"


def _csv(*rows: str) -> bytes:
    return (HEADER + "".join(r + "\n" for r in rows)).encode()


def test_assets_are_registered_with_a_holder_and_a_history(
    container: Container, clients: Clients
) -> None:
    hire_person(container, "E300")
    hire_person(container, "E301")
    admin = clients(Role.SYSADMIN)
    created = admin.post(
        "/api/v1/assets",
        json={
            "asset_type": "storage_media",
            "tag": "usb-0001",
            "serial": "kx-991",
            "description": "Encrypted USB drive 64 GB",
            "holder_employee_id": "E300",
        },
    )
    assert created.status_code == 201
    assert created.json()["tag"] == "USB-0001" and created.json()["state"] == "in_use"
    returned = admin.post(
        "/api/v1/assets/usb-0001/return",
        json={"employee_id": "E300", "condition": "worn", "received_by": "IT desk"},
    )
    assert returned.json()["state"] == "returned"
    assert admin.post(
        "/api/v1/assets/USB-0001/assign", json={"employee_id": "E301"}
    ).is_success
    detail = admin.get("/api/v1/assets/USB-0001").json()
    assert detail["holder"]["employee_id"] == "E301"
    assert [(h["employee_id"], h["outcome"]) for h in detail["history"]] == [
        ("E300", "returned"),
        ("E301", None),
    ]
    held = admin.get("/api/v1/assets", params={"holder": "E301"}).json()["assets"]
    assert [a["tag"] for a in held] == ["USB-0001"]


def test_duplicates_and_bad_assets_are_refused_and_write_nothing(
    container: Container, clients: Clients
) -> None:
    admin = clients(Role.SYSADMIN)
    first = {"asset_type": "laptop", "tag": "LT-1", "serial": "SN-1"}
    assert admin.post("/api/v1/assets", json=first).status_code == 201
    before = audit_count(container)
    same_serial = admin.post(
        "/api/v1/assets", json={"asset_type": "laptop", "tag": "LT-2", "serial": "sn-1"}
    )
    assert same_serial.status_code == 409
    assert same_serial.json()["error"]["details"][0]["field"] == "serial"
    card_without_number = admin.post(
        "/api/v1/assets", json={"asset_type": "security_card", "tag": "C-1"}
    )
    assert card_without_number.status_code == 422
    assert "card number" in card_without_number.json()["error"]["message"]
    unknown_holder = admin.post(
        "/api/v1/assets",
        json={"asset_type": "phone", "tag": "PH-1", "holder_employee_id": "E999"},
    )
    assert unknown_holder.status_code == 404
    hr = clients(Role.HR)
    assert hr.post("/api/v1/assets", json={**first, "tag": "LT-3"}).status_code == 403
    in_use = admin.post(
        "/api/v1/assets/LT-1/state", json={"state": "disposed", "reason": "broken"}
    )
    assert in_use.status_code == 200  # spare: may go
    back = admin.post(
        "/api/v1/assets/LT-1/state", json={"state": "spare", "reason": "found"}
    )
    assert back.status_code == 409  # disposed is final
    assert audit_count(container) == before + 2  # the HR token and the disposal


def test_a_csv_with_a_duplicate_serial_names_the_row_and_imports_nothing(
    container: Container, clients: Clients
) -> None:
    hire_person(container, "E302")
    admin = clients(Role.SYSADMIN)
    admin.post(
        "/api/v1/assets", json={"asset_type": "laptop", "tag": "OLD-1", "serial": "S-9"}
    )
    before = audit_count(container)
    in_file = admin.post(
        "/api/v1/assets/import",
        content=_csv(
            "laptop,LT-10,S-10,ThinkPad,,E302,",
            "phone,PH-10,S-11,iPhone,,,spare",
            "laptop,LT-11,s-10,ThinkPad,,,",
        ),
        headers={"Content-Type": "text/csv"},
    )
    assert in_file.status_code == 422
    error = in_file.json()["error"]
    assert error["code"] == "invalid_csv"
    assert error["details"] == [
        {"line": 4, "message": "serial S-10 is already used on line 2"}
    ]
    registered = admin.post(
        "/api/v1/assets/import",
        content=_csv("laptop,LT-12,S-12,,,,", "laptop,LT-13,s-9,,,,"),
        headers={"Content-Type": "text/csv"},
    )
    assert registered.status_code == 422
    [detail] = registered.json()["error"]["details"]
    assert detail["line"] == 3 and "S-9 is already registered" in detail["message"]
    assert audit_count(container) == before
    tags = [a["tag"] for a in admin.get("/api/v1/assets").json()["assets"]]
    assert tags == ["OLD-1"]


def test_a_csv_imports_whole_and_an_export_imports_again(
    container: Container, clients: Clients
) -> None:
    hire_person(container, "E303")
    admin = clients(Role.SYSADMIN)
    body = _csv(
        "laptop,LT-20,S-20,ThinkPad X1,,E303,",
        "security_card,CARD-20,,,70020,,spare",
        "storage_media,USB-20,,=cmd|' /C calc'!A0,,,spare",
    )
    dry = admin.post(
        "/api/v1/assets/import",
        params={"dry_run": "true"},
        content=body,
        headers={"Content-Type": "text/csv"},
    )
    assert dry.json()["applied"] is False and dry.json()["rows"] == 3
    assert admin.get("/api/v1/assets").json()["assets"] == []
    done = admin.post(
        "/api/v1/assets/import", content=body, headers={"Content-Type": "text/csv"}
    )
    assert done.json() == {
        "rows": 3,
        "applied": True,
        "dry_run": False,
        "created": ["LT-20", "CARD-20", "USB-20"],
        "errors": [],
    }
    exported = admin.get("/api/v1/assets/export.csv")
    assert exported.content.startswith("\ufeff".encode())
    text = exported.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("種別 [asset_type],資産番号 [tag]")
    assert "'=cmd" in text  # a formula is never run by Excel
    assert "ThinkPad X1" in text and "E303" in text


def test_the_scheduler_opens_a_spare_card_check_for_the_administrators(
    container: Container, clients: Clients, clock: FrozenClock
) -> None:
    admin = clients(Role.SYSADMIN)
    for n in (1, 2):
        admin.post(
            "/api/v1/assets",
            json={
                "asset_type": "security_card",
                "tag": f"SP-{n}",
                "card_number": f"9{n}",
            },
        )
    [job] = [j for j in JOBS if j.name == "open_spare_card_check"]
    assert run_exclusive(container, job)
    assert card_checks.open_spare_card_check(container.uow, container.lifecycle) == 0
    [check] = admin.get("/api/v1/assets/card-checks").json()["checks"]
    assert check["status"] == "open" and check["expected"] == ["SP-1", "SP-2"]
    with container.uow() as uow:
        [notice] = [
            n for n in uow.notices.open(Role.SYSADMIN) if n.kind == "spare_card_check"
        ]
        assert "SP-1, SP-2" in notice.detail

    partial = admin.post(
        f"/api/v1/assets/card-checks/{check['id']}/complete",
        json={"present": ["SP-1"]},
    )
    assert partial.status_code == 422 and "SP-2" in partial.json()["error"]["message"]
    done = admin.post(
        f"/api/v1/assets/card-checks/{check['id']}/complete",
        json={"present": ["sp-1"], "missing": ["SP-2"], "note": "drawer 3"},
    )
    assert done.status_code == 200 and done.json()["missing"] == ["SP-2"]
    assert admin.get("/api/v1/assets/SP-2").json()["state"] == "lost"
    with container.uow() as uow:
        assert not [
            n for n in uow.notices.open(Role.SYSADMIN) if n.kind == "spare_card_check"
        ]
        [missing] = uow.notices.open(Role.SECURITY_OFFICER)
        assert "block it in the entry system" in missing.detail

    every = container.policy().offboarding.spare_card_check_every_days
    clock.advance(timedelta(days=every - 1))
    assert card_checks.open_spare_card_check(container.uow, container.lifecycle) == 0
    clock.advance(timedelta(days=1))
    assert card_checks.open_spare_card_check(container.uow, container.lifecycle) == 1


def test_assets_are_not_handed_to_leavers(
    container: Container, clients: Clients
) -> None:
    hire_person(container, "E304")
    drain(container)
    terminate(container, "E304")
    admin = clients(Role.SYSADMIN)
    admin.post("/api/v1/assets", json={"asset_type": "phone", "tag": "PH-40"})
    refused = admin.post("/api/v1/assets/PH-40/assign", json={"employee_id": "E304"})
    assert (
        refused.status_code == 409
        and "terminated" in refused.json()["error"]["message"]
    )
