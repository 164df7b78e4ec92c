"""The service side of the 100,000-account benchmark, written in bulk.

Hiring 100,000 people through HR intake would measure hiring; the
reconciliation benchmark needs only what hiring leaves behind: people, their
AD accounts (with the objectGUIDs the cached directory gave them) and their
birthright grants. They are inserted straight into the tables, in batches,
and the benchmark system is approved in the register as the demo does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from benchmarks import samba_100k as bench_dc
from iam_service.adapters import orm
from iam_service.bootstrap import bootstrap
from iam_service.demo import approve_demo_systems
from iam_service.settings import Settings

_BATCH = 10_000


def terminated(n: int) -> bool:
    return n % 1000 == 3


def load_people(env: dict[str, str], accounts_file: Path) -> int:
    """Insert one person, account and birthright per benchmark account of
    ``accounts_file`` (orphans have none); returns the number of people."""
    container = bootstrap(
        Settings(
            database_url=env["IAM_DATABASE_URL"],
            database_schema=env["IAM_DATABASE_SCHEMA"],
            demo_mode=True,
            connectors_file=Path(env["IAM_CONNECTORS_FILE"]),
            policy_dir=Path(env["IAM_POLICY_DIR"]),
        ),
        capabilities={},  # the register needs no connector
    )
    try:
        approve_demo_systems(container)
        guids = _guids(accounts_file)
        now = datetime.now(UTC)
        with container.engine.begin() as connection:
            connection.execute(
                insert(orm.departments),
                [
                    {
                        "code": f"BENCH-{n:02d}",
                        "name": f"Bench {n:02d}",
                        "known_to_policy": True,
                    }
                    for n in range(bench_dc.DEPARTMENTS)
                ],
            )
            for start in range(0, bench_dc.USERS, _BATCH):
                numbers = range(start, min(start + _BATCH, bench_dc.USERS))
                connection.execute(
                    insert(orm.persons), [_person(n, now) for n in numbers]
                )
                connection.execute(
                    insert(orm.accounts), [_account(n, guids, now) for n in numbers]
                )
                grants = [
                    g for n in numbers if not terminated(n) for g in _grants(n, now)
                ]
                connection.execute(insert(orm.grants), grants)
        return bench_dc.USERS
    finally:
        container.close()


def _guids(accounts_file: Path) -> dict[str, str]:
    found = {}
    for line in accounts_file.read_text().splitlines():
        username, guid, _employee_id = line.split("\t")
        found[username] = guid
    return found


def _person(n: int, now: datetime) -> dict[str, Any]:
    name = bench_dc.username(n)
    return {
        "id": n + 1,
        "employee_id": bench_dc.employee_id(n),
        "given_name": "Bench",
        "family_name": name,
        "email": f"{name}@example.test",
        "department_code": bench_dc.department(n),
        "title": "Staff",
        "employment_type": "employee",
        "status": "terminated" if terminated(n) else "active",
        "flags": [],
        "created_at": now,
        "updated_at": now,
    }


def _account(n: int, guids: dict[str, str], now: datetime) -> dict[str, Any]:
    name = bench_dc.username(n)
    return {
        "id": n + 1,
        "person_id": n + 1,
        "system_key": "ad",
        "username": name,
        "native_id": guids[name],
        "status": "disabled" if terminated(n) else "enabled",
        "desired_enabled": not terminated(n),
        "verified_at": now,
        "created_at": now,
    }


def _grants(n: int, now: datetime) -> list[dict[str, Any]]:
    department = f"{n % bench_dc.DEPARTMENTS:02d}"
    return [
        {
            "person_id": n + 1,
            "entitlement_ref": ref,
            "source": "birthright",
            "granted_at": now,
            "reason": "birthright policy",
            "source_ref": f"bench-staff,bench-{department}",
            "status": "active",
        }
        for ref in (f"ad:{bench_dc.ALL_STAFF}", f"ad:BG-Dept-{department}")
    ]
