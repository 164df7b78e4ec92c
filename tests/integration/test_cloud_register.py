"""The cloud-service register (5.23) on SQLite and PostgreSQL: systems from
the connectors file wait for the security officer, their operations wait
with them, approval lets them run, suspension stops them, and the register
exports as CSV for the ISMS records."""

from __future__ import annotations

import base64
import csv
import io
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from connectors.fake import FakeConnector
from iam_service.adapters import orm, orm_register
from iam_service.bootstrap import Container
from iam_service.domain.clock import FrozenClock
from iam_service.domain.hr import HrEvent
from iam_service.domain.operations import OperationStatus
from iam_service.domain.security import Role
from iam_service.services.register_gate import (
    ApprovedSystems,
    SystemNotApproved,
    approved_only,
)
from iam_service.services.register_records import read_csv
from iam_service.settings import REPO_ROOT
from iam_service.web.app import create_app
from tests.support.db import TestDatabase
from tests.support.service import build, drain, event, hire

Api = Callable[[Role], TestClient]
AD_ENTRY = {
    "key": "ad",
    "kind": "fake",
    "name": "社内 Active Directory",
    "classification": "internal",
    "purpose": "社員アカウントの管理",
    "owner": "情報システム部",
}
ALL_MET = {
    "data_location": {"result": "met", "note": "国内データセンター"},
    "encryption_in_transit": {"result": "met", "note": "LDAPS"},
    "sso_scim": {"result": "not_applicable", "note": "ディレクトリそのもの"},
    "contract_reviewed": {"result": "met"},
}


def _write_connectors(path: Path, **changes: str) -> Path:
    path.write_text(
        yaml.safe_dump({"systems": [AD_ENTRY | changes]}, allow_unicode=True),
        encoding="utf-8",
    )
    return path


@pytest.fixture
def connectors_yaml(tmp_path: Path) -> Path:
    return _write_connectors(tmp_path / "connectors.yaml")


@pytest.fixture
def container(
    database: TestDatabase,
    clock: FrozenClock,
    fake_ad: FakeConnector,
    connectors_yaml: Path,
) -> Iterator[Container]:
    """The service reading ``ad`` from a connectors file, not yet approved."""
    c = build(
        database, {"ad": fake_ad}, clock, approve=False, connectors_file=connectors_yaml
    )
    yield c
    c.close()


def _counts(c: Container) -> dict[str, int]:
    tables = {
        "systems": orm.target_systems,
        "register": orm_register.system_register,
        "audit": orm.audit_records,
        "operations": orm.operations_table,
    }
    with c.session_factory() as s:
        return {
            name: int(s.scalar(select(func.count()).select_from(t)) or 0)
            for name, t in tables.items()
        }


def _submit(c: Container, body: dict[str, Any]) -> None:
    c.hr_intake.submit(HrEvent.model_validate(body), actor="token:hr-system")


def _approve_ad(api: Api) -> None:
    details = {"information": "社員の氏名・メール・所属", "criteria": ALL_MET}
    assert api(Role.SYSADMIN).patch("/api/v1/systems/ad", json=details).is_success
    response = api(Role.SECURITY_OFFICER).post(
        "/api/v1/systems/ad/approve", json={"comment": "選定基準を確認済み"}
    )
    assert response.status_code == 200, response.text


def _pending(c: Container) -> int:
    with c.uow() as uow:
        return len(uow.operations.list(OperationStatus.PENDING, limit=1000))


def test_a_system_from_the_connectors_file_waits_as_requested(
    container: Container, api: Api
) -> None:
    [ad] = api(Role.AUDITOR).get("/api/v1/systems").json()["systems"]
    assert ad["state"] == "requested" and ad["source"] == "connectors_file"
    assert ad["requested_by"] == "connectors-file" and ad["decided_by"] is None
    assert (ad["name"], ad["purpose"], ad["owner"]) == (
        "社内 Active Directory",
        "社員アカウントの管理",
        "情報システム部",
    )
    detail = api(Role.SECURITY_OFFICER).get("/api/v1/systems/ad").json()
    [requested] = detail["history"]
    assert requested["action"] == "system.requested"
    assert requested["actor"] == "system:bootstrap"
    assert requested["after"]["classification"] == "internal"


def test_operations_wait_for_approval_and_run_once_it_is_given(
    container: Container, api: Api, fake_ad: FakeConnector
) -> None:
    _submit(container, hire("E3001", given_name="Aoi", family_name="Sato"))
    assert drain(container) == 0
    assert fake_ad.find_account(employee_id="E3001") is None
    identity = api(Role.HR).get("/api/v1/identities/E3001").json()
    assert identity["pending_operations"], "the hire queued nothing"
    assert {op["waiting"] for op in identity["pending_operations"]} == {
        "waiting for approval of system ad"
    }
    assert identity["accounts"][0]["waiting"] == "waiting for approval of system ad"

    _approve_ad(api)
    assert drain(container) > 0  # no restart: the next claim sees the approval
    state = fake_ad.find_account(employee_id="E3001")
    assert state is not None and state.enabled
    identity = api(Role.HR).get("/api/v1/identities/E3001").json()
    assert identity["pending_operations"] == []
    assert identity["accounts"][0]["waiting"] is None


def test_suspending_a_system_stops_new_claims_until_approved_again(
    container: Container, api: Api, fake_ad: FakeConnector
) -> None:
    _approve_ad(api)
    _submit(container, hire("E3002", given_name="Ren", family_name="Ito"))
    drain(container)
    officer = api(Role.SECURITY_OFFICER)
    suspended = officer.post(
        "/api/v1/systems/ad/suspend", json={"comment": "ベンダー障害の調査中"}
    )
    assert suspended.json()["state"] == "suspended"
    _submit(container, event("terminate", "E3002", "t-3002"))
    assert drain(container) == 0 and _pending(container) > 0
    state = fake_ad.find_account(employee_id="E3002")
    assert state is not None and state.enabled
    identity = api(Role.HR).get("/api/v1/identities/E3002").json()
    assert identity["pending_operations"][0]["waiting"] == (
        "waiting for approval of system ad (suspended)"
    )

    officer.post("/api/v1/systems/ad/approve", json={"comment": "調査完了"})
    drain(container)
    state = fake_ad.find_account(employee_id="E3002")
    assert state is not None and not state.enabled
    assert _pending(container) == 0


def test_other_processes_see_an_approval_within_the_cache_time(
    container: Container, api: Api
) -> None:
    now = [100.0]
    elsewhere = ApprovedSystems(container.uow, ttl=5.0, monotonic=lambda: now[0])
    assert elsewhere.keys() == frozenset()
    _approve_ad(api)
    now[0] += 4.9
    assert elsewhere.keys() == frozenset(), "read again before the cache time"
    now[0] += 0.1
    assert elsewhere.keys() == {"ad"}


def test_connector_reads_refuse_a_system_that_is_not_approved(
    container: Container, api: Api
) -> None:
    reader = approved_only(container.connector_factory, container.register.approved)
    with pytest.raises(SystemNotApproved, match=r"not approved.*5\.23"):
        reader("ad")
    _approve_ad(api)
    assert reader("ad").system_id == "ad"


def test_nobody_approves_a_system_they_registered(
    container: Container, api: Api
) -> None:
    container.auth.create_local_user(
        "c.both",
        "a-long-local-password-1",
        [Role.SYSADMIN, Role.SECURITY_OFFICER],
        actor="test",
    )
    basic = base64.b64encode(b"c.both:a-long-local-password-1").decode()
    both = TestClient(
        create_app(container), headers={"Authorization": f"Basic {basic}"}
    )
    body = {
        "key": "kintai",
        "name": "勤怠管理",
        "classification": "internal",
        "purpose": "勤怠の記録",
        "owner": "総務部",
        "information": "出退勤時刻",
        "vendor_url": "https://kintai.example.test",
        "criteria": ALL_MET,
    }
    assert both.post("/api/v1/systems", json=body).status_code == 201
    before = _counts(container)
    refused = both.post("/api/v1/systems/kintai/approve", json={"comment": "ok"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "segregation_of_duties"
    assert "5.3" in refused.json()["error"]["message"]
    assert _counts(container) == before
    assert both.get("/api/v1/systems/kintai").json()["state"] == "requested"
    approved = api(Role.SECURITY_OFFICER).post(
        "/api/v1/systems/kintai/approve", json={"comment": "別の担当者が確認"}
    )
    assert approved.json()["state"] == "approved"
    both.close()


def test_an_auditor_reads_the_register_but_cannot_decide(
    container: Container, api: Api
) -> None:
    auditor, sysadmin, hr = api(Role.AUDITOR), api(Role.SYSADMIN), api(Role.HR)
    before = _counts(container)
    for decision in ("approve", "reject", "suspend"):
        response = auditor.post(
            f"/api/v1/systems/ad/{decision}", json={"comment": "監査"}
        )
        assert response.status_code == 403, decision
    assert (
        sysadmin.post("/api/v1/systems/ad/approve", json={"comment": "x"}).status_code
        == 403
    )
    assert auditor.post("/api/v1/systems", json={}).status_code == 403
    assert auditor.get("/api/v1/systems").status_code == 200
    assert auditor.get("/api/v1/systems/export.csv").status_code == 200
    assert hr.get("/api/v1/systems").status_code == 403
    assert _counts(container) == before


def test_bad_input_is_refused_and_writes_nothing(
    container: Container, api: Api
) -> None:
    sysadmin, officer = api(Role.SYSADMIN), api(Role.SECURITY_OFFICER)
    good = {
        "key": "wiki",
        "name": "社内 Wiki",
        "classification": "internal",
        "purpose": "文書共有",
        "owner": "情報システム部",
    }
    before = _counts(container)
    cases: list[tuple[TestClient, str, str, Any, int]] = [
        (sysadmin, "POST", "/api/v1/systems", good | {"key": "Bad Key"}, 422),
        (sysadmin, "POST", "/api/v1/systems", good | {"classification": "x"}, 422),
        (sysadmin, "POST", "/api/v1/systems", good | {"vendor_url": "http://w"}, 422),
        (sysadmin, "POST", "/api/v1/systems", good | {"colour": "blue"}, 422),
        (
            sysadmin,
            "POST",
            "/api/v1/systems",
            good | {"criteria": {"astrology": {"result": "met"}}},
            422,
        ),
        (sysadmin, "POST", "/api/v1/systems", good | {"key": "ad"}, 409),
        (sysadmin, "PATCH", "/api/v1/systems/ad", {"purpose": "他の目的"}, 422),
        (sysadmin, "PATCH", "/api/v1/systems/nope", {"information": "x"}, 404),
        (officer, "POST", "/api/v1/systems/ad/approve", {"comment": " "}, 422),
        (officer, "POST", "/api/v1/systems/ad/approve", {"comment": "ok"}, 409),
        (officer, "POST", "/api/v1/systems/ad/suspend", {"comment": "stop"}, 409),
        (officer, "POST", "/api/v1/systems/nope/approve", {"comment": "ok"}, 404),
        (officer, "POST", "/api/v1/systems/ad/approve", "{not json", 400),
    ]
    for client, method, path, body, status in cases:
        if isinstance(body, str):
            response = client.request(
                method, path, content=body, headers={"Content-Type": "application/json"}
            )
        else:
            response = client.request(method, path, json=body)
        assert response.status_code == status, (path, body, response.text)
        assert set(response.json()["error"]) == {"code", "message", "details"}
    incomplete = officer.post("/api/v1/systems/ad/approve", json={"comment": "ok"})
    assert incomplete.json()["error"]["code"] == "incomplete"
    assert "criterion data_location is unchecked" in incomplete.text
    assert _counts(container) == before
    [ad] = officer.get("/api/v1/systems").json()["systems"]
    assert ad["state"] == "requested" and ad["purpose"] == "社員アカウントの管理"


def test_a_changed_connectors_file_is_audited_and_keeps_the_decision(
    container: Container,
    api: Api,
    database: TestDatabase,
    fake_ad: FakeConnector,
    connectors_yaml: Path,
) -> None:
    _approve_ad(api)
    _write_connectors(
        connectors_yaml, classification="strictly_confidential", purpose="人事情報"
    )
    restarted = build(
        database, {"ad": fake_ad}, approve=False, connectors_file=connectors_yaml
    )
    record, history = restarted.register.detail("ad")
    assert record.state == "approved" and str(record.classification) == (
        "strictly_confidential"
    )
    changed = history[-1]
    assert changed["action"] == "system.metadata_changed"
    assert changed["before"] == {
        "classification": "internal",
        "purpose": "社員アカウントの管理",
    }
    assert changed["after"] == {
        "classification": "strictly_confidential",
        "purpose": "人事情報",
    }
    before = _counts(restarted)
    report = restarted.register.sync(
        restarted.connectors_file.systems, actor="cli:test"
    )
    assert report.unchanged == ["ad"] and not report.changed
    assert _counts(restarted) == before
    restarted.close()


def test_the_csv_export_round_trips_japanese_text(
    container: Container, api: Api
) -> None:
    manual = {
        "key": "paper-ledger",
        "kind": "manual",
        "name": "入退室管理台帳",
        "classification": "strictly_confidential",
        "purpose": '=入退室の記録, "紙"\n2行目',
        "owner": "総務部",
        "owner_employee_id": "E0042",
        "information": "氏名、カード番号",
        "criteria": {
            "data_location": {"result": "met", "note": "本社金庫"},
            "encryption_in_transit": {"result": "not_applicable", "note": "紙"},
        },
    }
    assert api(Role.SYSADMIN).post("/api/v1/systems", json=manual).status_code == 201
    _approve_ad(api)
    response = api(Role.AUDITOR).get("/api/v1/systems/export.csv")
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "cloud-register.csv" in response.headers["content-disposition"]
    data = response.content
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for UTF-8
    raw = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert raw[0][:4] == [
        "システムキー [key]",
        "サービス名 [name]",
        "種別 [kind]",
        "利用目的 [purpose]",
    ]
    assert raw[2][3].startswith("'=")  # Excel must not run it as a formula
    rows = {row["key"]: row for row in read_csv(data)}
    listed = api(Role.AUDITOR).get("/api/v1/systems").json()["systems"]
    for system in listed:
        row = rows[system["key"]]
        for name in ("name", "kind", "purpose", "owner", "information", "state"):
            assert row[name] == system[name], name
        assert row["classification"] == system["classification"]
        assert row["owner_employee_id"] == (system["owner_employee_id"] or "")
        assert row["requested_at"] == system["requested_at"]
        for criterion, check in system["criteria"].items():
            assert row[f"criterion.{criterion}"] == check["result"]
            assert row[f"criterion.{criterion}.note"] == check["note"]
    assert rows["paper-ledger"]["purpose"] == manual["purpose"]
    assert rows["ad"]["decided_by"].startswith("token:")
    assert "社外秘 [internal]" in data.decode("utf-8-sig")
    assert "極秘 [strictly_confidential]" in data.decode("utf-8-sig")


def _iamctl(database: TestDatabase, connectors: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IAM_")}
    env |= {
        "IAM_DATABASE_URL": database.url,
        "IAM_DEMO_MODE": "1",
        "IAM_CONNECTORS_FILE": str(connectors),
        "IAM_POLICY_DIR": str(REPO_ROOT / "policies"),
        "IAM_SCHEDULER_ENABLED": "0",
    }
    if database.schema:
        env["IAM_DATABASE_SCHEMA"] = database.schema
    done = subprocess.run(
        [sys.executable, "-m", "iam_service", *args],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_cli_shows_waiting_operations_and_exports_the_register(
    container: Container,
    api: Api,
    database: TestDatabase,
    connectors_yaml: Path,
    tmp_path: Path,
) -> None:
    _submit(container, hire("E3003"))
    listed = _iamctl(database, connectors_yaml, "ops", "list")
    assert "waiting for approval of system ad" in listed
    assert "ad\trequested\tinternal\t社内 Active Directory" in _iamctl(
        database, connectors_yaml, "systems", "list"
    )
    target = tmp_path / "クラウド一覧表.csv"
    _iamctl(database, connectors_yaml, "systems", "export", str(target))
    assert target.read_bytes() == container.register.export_csv()
