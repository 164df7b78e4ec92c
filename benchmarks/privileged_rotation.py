"""A handover that rotates 50 privileged AD accounts, against bare ldap3.

Service: 50 admin accounts in a group the policy marks privileged, found by
discovery, all looked after by one outgoing custodian. Timed from the
handover's start (the use case: plan, 50 ROTATE_PASSWORD operations, audit,
one commit) until the worker has verified the last one. Each operation is
what production does: read ``pwdLastSet``, generate a password under the
policy's rules, seal it (AES-GCM) in the store, reset ``unicodePwd``, bind
as the account with the new password on a fresh TLS connection, read
``pwdLastSet`` again, record the outcome and its audit record. One worker
thread: AD runs one write at a time per worker (``max_parallel: 1``).

Floor: the same 50 resets and binds sent directly with ldap3: one bound
administrator connection for the resets, one more connection rebinding as
each account, passwords from the same generator, nothing stored.

``python -m benchmarks.privileged_rotation`` prints a Markdown section and
writes it into docs/benchmarks.md.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import ldap3
import yaml
from ldap3.utils.dn import escape_rdn

from benchmarks.common import (
    Directory,
    approve_systems,
    directory,
    pg_schema,
    service_env,
    write_section,
)
from connectors.ad_attributes import password_value
from connectors.ldap_connection import SafeConnection, VerifiedTls
from iam_service.bootstrap import bootstrap
from iam_service.domain.hr import HrEvent
from iam_service.domain.password_rules import PasswordRules, generate
from iam_service.domain.privileged_requests import CustodianChange, HandoverCreate
from iam_service.domain.security import Role
from iam_service.services.auth import Principal
from iam_service.settings import REPO_ROOT, Settings
from jobs.worker import ConnectorPool, Worker, WorkerConfig

N = int(os.environ.get("BENCH_ROTATIONS", "50"))
START = "Bench-Start-Passw0rd!"  # dummy (8.33)
OFFICER = Principal("bench", frozenset({Role.SECURITY_OFFICER}), kind="bench")


def _accounts(d: Directory, group: str) -> list[tuple[str, str]]:
    """N enabled admin accounts in ``group``; (DN, sAMAccountName)."""
    admin = d.admin()
    made = []
    tag = d.root.split(",")[0].rsplit("-", 1)[1]
    try:
        for n in range(N):
            name = f"bra{n:03d}-{tag}"[:20]
            dn = f"CN={escape_rdn(name)},{d.people}"
            admin.add(
                dn,
                ["top", "person", "organizationalPerson", "user"],
                {
                    "sAMAccountName": name,
                    "unicodePwd": password_value(START),
                    "userAccountControl": "512",
                },
            )
            made.append((dn, name))
        admin.add(
            f"CN={group},{d.people}",
            ["top", "group"],
            {"sAMAccountName": group, "member": [dn for dn, _ in made]},
        )
    finally:
        admin.unbind()
    return made


def _policy(workdir: Path, group: str) -> Path:
    target = workdir / "policies"
    shutil.copytree(REPO_ROOT / "policies", target)
    path = target / "catalogue.yaml"
    catalogue = yaml.safe_load(path.read_text(encoding="utf-8"))
    catalogue["entitlements"].append(
        {"ref": f"ad:{group}", "name": "Benchmark admins", "privileged": True}
    )
    path.write_text(yaml.safe_dump(catalogue, allow_unicode=True), encoding="utf-8")
    return target


def _service(d: Directory, schema: str, workdir: Path, group: str) -> float:
    env = service_env(schema, d, workdir)
    approve_systems(env)
    os.environ["IAM_AD_BIND_PASSWORD"] = d.dc.admin_password
    container = bootstrap(
        Settings(
            database_url=env["IAM_DATABASE_URL"],
            database_schema=schema,
            demo_mode=True,
            connectors_file=Path(env["IAM_CONNECTORS_FILE"]),
            policy_dir=_policy(workdir, group),
            scheduler_enabled=False,
        )
    )
    try:
        body = {
            "event_id": "bench-custodian",
            "type": "hire",
            "employee": {
                "employee_id": "BC0001",
                "given_name": "Kana",
                "family_name": "Bench",
                "email": "bc0001@example.test",
                "department": "IT",
                "title": "System Administrator",
            },
        }
        container.hr_intake.submit(HrEvent.model_validate(body), actor="bench")
        container.privileged.discovery.discover("ad", actor="bench")
        for account in container.privileged.inventory.accounts():
            if account["rights"] == [group]:
                container.privileged.inventory.add_custodian(
                    account["id"], CustodianChange(employee_id="BC0001"), OFFICER
                )
        pool = ConnectorPool(container.connector_factory)
        worker = Worker(container.queue, pool, WorkerConfig(threads=1), worker_id="b")
        worker.drain()  # the custodian's own account: not part of the handover
        started = time.perf_counter()
        view = container.privileged.handovers.start(
            HandoverCreate(outgoing_employee_id="BC0001"), OFFICER
        )
        worker.drain()
        elapsed = time.perf_counter() - started
        pool.close()
        states = {
            r["state"]
            for r in container.privileged.handovers.view(view["id"])["rotations"]
        }
        if states != {"verified"} or len(view["rotations"]) != N:
            raise RuntimeError(f"rotations not all verified: {states}")
        return elapsed
    finally:
        container.close()


def _floor(d: Directory, accounts: list[tuple[str, str]]) -> float:
    url = urlsplit(d.dc.url)
    server = ldap3.Server(
        url.hostname or "127.0.0.1",
        port=url.port or 636,
        use_ssl=True,
        tls=VerifiedTls(str(d.dc.ca_file)),
    )
    admin = SafeConnection(
        server, user=d.dc.admin_user, password=d.dc.admin_password, auto_bind=True
    )
    probe = SafeConnection(
        server, user=d.dc.admin_user, password=d.dc.admin_password, auto_bind=True
    )
    rules = PasswordRules()
    upn = d.dc.realm.lower()
    try:
        started = time.perf_counter()
        for dn, name in accounts:
            password = generate(rules)
            admin.modify(
                dn,
                {"unicodePwd": [(ldap3.MODIFY_REPLACE, [password_value(password)])]},
            )
            if not probe.rebind(user=f"{name}@{upn}", password=password):
                raise RuntimeError(f"{name}: the new password does not bind")
        return time.perf_counter() - started
    finally:
        admin.unbind()
        probe.unbind()


def run() -> dict[str, Any]:
    group = "g-bench-rotation"
    with (
        directory("rot") as d,
        pg_schema() as schema,
        tempfile.TemporaryDirectory() as tmp,
    ):
        accounts = _accounts(d, group)
        service = _service(d, schema, Path(tmp), group)
        floor = _floor(d, accounts)
    result = {"n": N, "service_s": service, "floor_s": floor}
    write_section("privileged_rotation", _report(result))
    return result


def _report(r: dict[str, Any]) -> str:
    n, service, floor = r["n"], r["service_s"], r["floor_s"]
    each, each_floor = service / n * 1000, floor / n * 1000
    ratio = service / floor
    return f"""## Handover rotating {n} privileged AD accounts

A handover of {n} admin accounts (one custodian to a successor, 5.18): from
the use case's start until the worker has verified the last rotation. Per
account the service reads `pwdLastSet`, generates a password under the
policy's rules, seals it (AES-GCM) in the store, resets `unicodePwd`, binds
as the account on a fresh LDAPS connection, reads `pwdLastSet` again and
records the outcome with its audit record, one worker thread (AD:
`max_parallel: 1`). The floor sends the same {n} resets and binds with bare
ldap3 over two long-lived connections (one resets, one rebinds as each
account) and stores nothing.

| | total | per account | × floor |
|---|---:|---:|---:|
| service (handover → all verified) | {service:.2f} s | {each:.0f} ms | {ratio:.1f} |
| bare ldap3 (reset + bind) | {floor:.2f} s | {each_floor:.0f} ms | 1.0 |
"""


if __name__ == "__main__":
    print(run())
