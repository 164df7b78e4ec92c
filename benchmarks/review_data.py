"""Synthetic organisations for the access review benchmarks (dummy data, 8.33).

People, departments, accounts, grants, sign-ins, access requests and SoD
exceptions are written straight into a PostgreSQL schema with ``COPY``
(setting up 10,000 people with 20 grants each through HR intake would take
longer than the benchmark and measure something else). Birthright grants
follow the policy's own evaluation, so the rows are what the service would
have written.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from iam_service.adapters.policy_files import load_policy
from iam_service.bootstrap import Container, bootstrap
from iam_service.domain.clock import FrozenClock, SystemClock
from iam_service.domain.policy import Policy
from iam_service.settings import REPO_ROOT, Settings

POLICIES = REPO_ROOT / "policies"


def bench_policy(directory: Path, extra_entitlements: int) -> Path:
    """The shipped policy plus ``extra_entitlements`` requestable groups
    ``ad:GG-App-NN`` (the shipped catalogue has too few for 20 grants each)."""
    target = directory / "policies"
    shutil.copytree(POLICIES, target)
    catalogue = target / "catalogue.yaml"
    lines = [
        f"  - ref: ad:GG-App-{n:02d}\n"
        f"    name: Application {n:02d}\n"
        f"    name_ja: 業務アプリ {n:02d}\n"
        f"    description: Users of business application {n:02d}.\n"
        "    classification: internal\n"
        for n in range(1, extra_entitlements + 1)
    ]
    text_ = catalogue.read_text()
    text_ = text_.replace("\nroles:\n", "\n" + "".join(lines) + "\nroles:\n", 1)
    catalogue.write_text(text_)
    return target


def service(
    url: str, schema: str, policy_dir: Path, now: datetime, *, real_clock: bool = False
) -> Container:
    """The service over the benchmark schema (no connector is called); a
    frozen clock at ``now`` unless ``real_clock``."""
    return bootstrap(
        Settings(
            database_url=url,
            database_schema=schema,
            demo_mode=True,
            policy_dir=policy_dir,
            scheduler_enabled=False,
        ),
        clock=SystemClock() if real_clock else FrozenClock(now),
        capabilities={"ad": frozenset()},
        sync_register=False,
    )


@dataclass
class Rows:
    """Rows to COPY, per table, with their next ids."""

    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)

    def add(self, table: str, row: dict[str, Any], *, with_id: bool = True) -> int:
        if with_id:
            row = {"id": self.ids.get(table, 0) + 1, **row}
            self.ids[table] = row["id"]
        self.tables.setdefault(table, []).append(row)
        return int(row.get("id", 0))


@dataclass
class Person:
    id: int
    employee_id: str
    department: str
    title: str
    account_id: int


class OrgWriter:
    """Builds an organisation's rows; ``write`` COPYs them."""

    def __init__(self, policy: Policy, now: datetime) -> None:
        self.policy = policy
        self.now = now
        self.rows = Rows()

    def department(self, code: str, head: str | None) -> None:
        definition = self.policy.department(code)
        self.rows.add(
            "departments",
            {
                "code": code,
                "name": definition.name if definition else code,
                "head_employee_id": head,
                "known_to_policy": True,
            },
        )

    def person(
        self,
        employee_id: str,
        department: str,
        title: str = "Staff",
        *,
        manager: str | None = None,
        account_age_days: int = 800,
        employment: str = "employee",
    ) -> Person:
        person_id = self.rows.add(
            "persons",
            {
                "employee_id": employee_id,
                "given_name": "Bench",
                "family_name": f"Person{employee_id}",
                "email": f"{employee_id.lower()}@example.test",
                "department_code": department,
                "title": title,
                "employment_type": employment,
                "manager_employee_id": manager,
                "status": "active",
                "flags": "[]",
                "created_at": self.now - timedelta(days=account_age_days),
                "updated_at": self.now,
            },
        )
        account_id = self.rows.add(
            "accounts",
            {
                "person_id": person_id,
                "system_key": "ad",
                "username": f"u{employee_id.lower()}",
                "native_id": f"guid-{employee_id}",
                "status": "enabled",
                "desired_enabled": True,
                "verified_at": self.now,
                "created_at": self.now - timedelta(days=account_age_days),
            },
        )
        person = Person(person_id, employee_id, department, title, account_id)
        born = self.policy.birthright_for(department, title, employment)  # type: ignore[arg-type]
        for ref in sorted(born.entitlements):
            self.grant(person, ref, "birthright", days_ago=account_age_days)
        return person

    def grant(
        self,
        person: Person,
        ref: str,
        source: str,
        *,
        days_ago: int = 300,
        source_ref: str | None = None,
    ) -> int:
        return self.rows.add(
            "grants",
            {
                "person_id": person.id,
                "entitlement_ref": ref,
                "source": source,
                "granted_at": self.now - timedelta(days=days_ago),
                "reason": "benchmark",
                "source_ref": source_ref,
                "status": "active",
            },
        )

    def requested(
        self, person: Person, ref: str, *, asked_in: str | None = None
    ) -> int:
        """A grant from an approved request made in ``asked_in`` (default:
        the person's current department)."""
        department = asked_in or person.department
        request_id = self.rows.add(
            "access_requests",
            {
                "person_id": person.id,
                "employee_id": person.employee_id,
                "department_code": department,
                "kind": "entitlement",
                "item": ref,
                "entitlement_refs": json.dumps([ref]),
                "justification": "project work",
                "classification": "internal",
                "privileged": False,
                "chain": json.dumps(["department_head", "sysadmin"]),
                "step": 2,
                "status": "approved",
                "requested_by": "token:bench",
                "created_at": self.now - timedelta(days=200),
                "decided_at": self.now - timedelta(days=199),
                "outcome_reason": "",
            },
        )
        return self.grant(person, ref, "request", source_ref=str(request_id))

    def signed_in(self, person: Person, days_ago: int | None) -> None:
        last = None if days_ago is None else self.now - timedelta(days=days_ago)
        self.rows.add(
            "sign_in_activity",
            {
                "account_id": person.account_id,
                "system_key": "ad",
                "last_sign_in_at": last,
                "observed_at": self.now,
            },
            with_id=False,
        )

    def sod_exception(self, person: Person, rule_id: str) -> None:
        self.rows.add(
            "sod_exceptions",
            {
                "person_id": person.id,
                "employee_id": person.employee_id,
                "rule_id": rule_id,
                "reason": "benchmark: small branch office",
                "expires_at": self.now + timedelta(days=90),
                "granted_by": "token:bench-officer",
                "granted_at": self.now - timedelta(days=30),
            },
        )

    def write(self, engine: Engine, schema: str) -> None:
        order = (
            "departments",
            "persons",
            "accounts",
            "access_requests",
            "grants",
            "sign_in_activity",
            "sod_exceptions",
        )
        for table in order:
            copy_rows(engine, schema, table, self.rows.tables.get(table, []))
        with engine.begin() as connection:  # later inserts continue the ids
            for table, last in self.rows.ids.items():
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('\"{schema}\".{table}', "
                        f"'id'), {last})"
                    )
                )


def copy_rows(
    engine: Engine, schema: str, table: str, rows: Sequence[dict[str, Any]]
) -> None:
    """COPY ``rows`` into ``schema.table`` (psycopg 3)."""
    if not rows:
        return
    columns = list(rows[0])
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        names = ", ".join(columns)
        with cursor.copy(f'COPY "{schema}".{table} ({names}) FROM STDIN') as copy:  # type: ignore[attr-defined]
            for row in rows:
                copy.write_row([row[c] for c in columns])
        raw.commit()
    finally:
        raw.close()


def load(policy_dir: Path) -> Policy:
    return load_policy(policy_dir)


def chunks(values: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
