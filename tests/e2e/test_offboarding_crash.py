"""The crash test: a termination is accepted by a real ``iamctl serve``
process, which is killed (SIGKILL) right after its 202, before any worker
has run. On restart the account is disabled in the real Samba AD and the
offboarding case is open: nothing was lost between the answer and the
crash, because the termination, its operations and its case were one
transaction."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from iam_service.bootstrap import Container
from iam_service.domain.assets import AssetCreate
from iam_service.domain.hr import HrEvent
from iam_service.domain.operations import OperationStatus
from iam_service.domain.security import Role
from iam_service.settings import REPO_ROOT
from tests.support.ad_service import AdTarget, ad_container, connectors_file, iamctl_env
from tests.support.db import TestDatabase
from tests.support.samba import SambaDc
from tests.support.service import drain, event, hire
from tests.support.smtp import free_port
from tools.samba_directory import connect

pytestmark = [pytest.mark.samba, pytest.mark.slow]


def _serve(env: dict[str, str], port: int, log: Path, *extra: str) -> Any:
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "iam_service", "serve", "--port", str(port), *extra],
            env=env,
            cwd=REPO_ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                return process
        except requests.RequestException:  # not listening yet, or still busy
            time.sleep(0.2)
    process.kill()
    raise AssertionError(f"iamctl serve did not start:\n{log.read_text()}")


def _ad_enabled(dc: SambaDc, target: AdTarget, employee_id: str) -> tuple[bool, str]:
    connection = connect(dc.url, dc.admin_user, dc.admin_password, dc.ca_file)
    try:
        connection.search(
            target.sandbox.root,
            f"(employeeID={employee_id})",
            attributes=["userAccountControl"],
        )
        entry = connection.entries[0]
        return not int(entry.userAccountControl.value) & 0x2, entry.entry_dn
    finally:
        connection.unbind()


@pytest.fixture
def setup(database: TestDatabase, ad_target: AdTarget) -> Iterator[Container]:
    """The test's own view of the store (and of AD) beside the processes."""
    container = ad_container(database, ad_target)
    yield container
    container.close()


def test_a_termination_survives_the_service_being_killed_after_its_202(
    setup: Container,
    database: TestDatabase,
    ad_target: AdTarget,
    samba_dc: SambaDc,
    tmp_path: Path,
) -> None:
    person = f"K{ad_target.sandbox.tag[:6]}"
    setup.hr_intake.submit(
        HrEvent.model_validate(hire(person, given_name="Crash", family_name=person)),
        actor="test",
    )
    drain(setup)
    setup.offboarding.assets.create(
        AssetCreate(asset_type="laptop", tag=f"LT-{person}", holder_employee_id=person),
        "test",
    )
    token = setup.auth.create_token("crash-hr", Role.HR, actor="test")
    env = iamctl_env(
        database, ad_target, connectors_file(tmp_path / "c.yaml", ad_target)
    )
    port = free_port()
    first = _serve(env, port, tmp_path / "first.log", "--no-scheduler")
    answer = requests.post(
        f"http://127.0.0.1:{port}/api/v1/hr/events",
        json=event("terminate", person, f"crash-{person}"),
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    first.send_signal(signal.SIGKILL)  # at once: no worker, no draining
    first.wait(timeout=30)
    assert answer.status_code == 202 and answer.json()["status"] == "applied"
    assert _ad_enabled(samba_dc, ad_target, person)[0]  # nothing ran yet
    with setup.uow() as uow:
        assert uow.operations.list(OperationStatus.PENDING)
    [case] = setup.offboarding.cases.for_person(person)
    assert case["status"] == "open"

    second = _serve(
        env, port, tmp_path / "second.log", "--with-worker", "--no-scheduler"
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            detail = requests.get(
                f"http://127.0.0.1:{port}/api/v1/offboarding/cases/{case['id']}",
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            ).json()
            if all(a["disabled_verified"] for a in detail["accounts"]):
                break
            time.sleep(0.5)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=60)
    enabled, dn = _ad_enabled(samba_dc, ad_target, person)
    assert not enabled and dn.endswith(ad_target.sandbox.leavers)
    assert detail["status"] == "open"
    assert [a["state"] for a in detail["accounts"]] == ["disabled"]
    assert [o["kind"] for o in detail["outstanding"]] == ["asset_return"]
