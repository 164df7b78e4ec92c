"""Offboarding reports (outstanding assets by department, open cases with
their age, time to all-disabled and to closed) as JSON and CSV, and the
``iamctl assets`` / ``iamctl offboarding`` commands."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.fake import FakeConnector
from iam_service.bootstrap import Container
from iam_service.cli import app
from iam_service.domain.clock import FrozenClock
from iam_service.domain.security import Role
from tests.support.db import TestDatabase
from tests.support.offboarding import Clients, give_assets, hire_person, terminate
from tests.support.service import build, drain

RETURNED = {"condition": "good", "received_by": "General Affairs desk"}


def test_reports_by_department_age_and_timing(
    container: Container, clients: Clients, clock: FrozenClock
) -> None:
    for employee_id, department in (("E500", "SALES"), ("E501", "ENG")):
        hire_person(container, employee_id, department)
    drain(container)
    admin = clients(Role.SYSADMIN)
    sales = give_assets(admin, "E500")
    give_assets(admin, "E501", tag="PC")
    terminate(container, "E500")
    terminate(container, "E501")
    clock.advance(timedelta(minutes=90))
    drain(container)  # every account verified disabled 1.5 hours later
    hr = clients(Role.HR)
    [sales_case] = container.offboarding.cases.for_person("E500")
    base = f"/api/v1/offboarding/cases/{sales_case['id']}"
    for tag in sales:
        hr.post(f"{base}/assets/{tag}/return", json=RETURNED)
    task = next(
        i
        for i in container.offboarding.cases.get(sales_case["id"])["items"]
        if i["kind"] == "card_deactivation"
    )
    hr.post(f"{base}/items/{task['id']}/complete", json={"resolution": "deactivated"})
    clock.advance(timedelta(days=2))
    assert hr.post(f"{base}/close", json={}).is_success
    clock.advance(timedelta(days=3))

    auditor = clients(Role.AUDITOR)
    assets = auditor.get("/api/v1/offboarding/reports/outstanding-assets").json()
    assert assets["summary"]["departments"] == {
        "ENG": {
            "name": "Engineering",
            "assets": 2,
            "cases": 1,
            "awaiting_approval": 0,
            "oldest_days": 5,
        }
    }
    assert {r["tag"] for r in assets["rows"]} == {"PC-E501", "CARD-E501"}

    open_cases = auditor.get("/api/v1/offboarding/reports/open-cases").json()
    [row] = open_cases["rows"]
    assert (row["employee_id"], row["age_days"], row["all_disabled"]) == (
        "E501",
        5,
        True,
    )
    timings = auditor.get("/api/v1/offboarding/reports/timings").json()
    by_person = {r["employee_id"]: r for r in timings["rows"]}
    assert by_person["E500"]["hours_to_all_disabled"] == 1.5
    assert by_person["E500"]["days_to_closed"] == 2.06
    assert by_person["E501"]["days_to_closed"] is None
    assert timings["summary"]["hours_to_all_disabled"] == {
        "count": 2,
        "median": 1.5,
        "max": 1.5,
    }

    exported = auditor.get("/api/v1/offboarding/reports/timings.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0][0] == "ケース [case_id]" and len(rows) == 3
    assert auditor.get("/api/v1/offboarding/reports/nope").status_code == 404
    assert (
        clients(Role.DEPARTMENT_HEAD)
        .get("/api/v1/offboarding/reports/timings")
        .status_code
        == 403
    )


runner = CliRunner()


@pytest.fixture
def cli_service(
    monkeypatch: pytest.MonkeyPatch, database: TestDatabase, fake_ad: FakeConnector
) -> Iterator[Container]:
    monkeypatch.setenv("IAM_DATABASE_URL", database.url)
    monkeypatch.setenv("IAM_DEMO_MODE", "1")
    monkeypatch.setenv("IAM_SCHEDULER_ENABLED", "0")
    if database.schema:
        monkeypatch.setenv("IAM_DATABASE_SCHEMA", database.schema)
    container = build(database, {"ad": fake_ad})
    yield container
    container.close()


def test_iamctl_imports_assets_all_or_nothing_and_reports(
    cli_service: Container, tmp_path: Path
) -> None:
    hire_person(cli_service, "E510")
    bad = tmp_path / "assets.csv"
    bad.write_text(
        "asset_type,tag,serial,holder_employee_id\n"
        "laptop,LT-1,SN-1,E510\n"
        "laptop,LT-2,SN-1,\n",
        encoding="utf-8",
    )
    refused = runner.invoke(app, ["assets", "import", str(bad)])
    assert refused.exit_code == 1
    assert f"{bad}:line 3: serial SN-1 is already used on line 2" in refused.output
    assert "nothing was registered" in refused.output
    assert cli_service.offboarding.assets.find() == []

    good = tmp_path / "good.csv"
    good.write_text(bad.read_text().replace("LT-2,SN-1", "LT-2,SN-2"))
    dry = runner.invoke(app, ["assets", "import", str(good), "--dry-run"])
    assert dry.exit_code == 0 and "would register 2" in dry.output
    assert cli_service.offboarding.assets.find() == []
    done = runner.invoke(app, ["assets", "import", str(good)])
    assert done.exit_code == 0, done.output
    listed = runner.invoke(app, ["assets", "list", "--holder", "E510"])
    assert listed.output.startswith("LT-1\tlaptop\tin_use\tE510")

    terminate(cli_service, "E510")
    cases = runner.invoke(app, ["offboarding", "list"])
    assert "E510" in cases.output and "outstanding" in cases.output
    out = tmp_path / "open.csv"
    report = runner.invoke(
        app, ["offboarding", "report", "open-cases", "--csv", str(out)]
    )
    assert report.exit_code == 0 and out.read_bytes().startswith(b"\xef\xbb\xbf")
    assert runner.invoke(app, ["offboarding", "report", "nope"]).exit_code == 1
