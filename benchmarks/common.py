"""Shared set-up for benchmarks: a Samba DC, a PostgreSQL schema, a sandbox
OU, the service as real processes, and writing results into
``docs/benchmarks.md`` section by section.

Benchmarks measure; they assert nothing. Each result is reported as a ratio
against the bare protocol floor measured in the same run.
"""

from __future__ import annotations

import os
import platform
import secrets
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import yaml
from sqlalchemy import create_engine, text

from iam_service.adapters.database import normalize_url, upgrade
from iam_service.settings import REPO_ROOT
from tools import samba_dc
from tools.samba_directory import connect, delete_tree, ensure_layout

PG_URL = os.environ.get(
    "IAM_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
RESULTS = REPO_ROOT / "docs" / "benchmarks.md"
POLICY_GROUPS = (
    "GG-All-Staff",
    "GG-Contractors",
    "GG-Sales",
    "GG-Sales-Managers",
    "GG-Engineering",
    "GG-Eng-Leads",
    "GG-Finance",
    "GG-Finance-Approvers",
    "GG-HR",
    "GG-IT",
    "GG-General-Affairs",
)


@dataclass(frozen=True)
class Directory:
    dc: samba_dc.DomainController
    root: str
    people: str
    leavers: str

    def admin(self) -> Any:
        return connect(
            self.dc.url,
            self.dc.admin_user,
            self.dc.admin_password,
            str(self.dc.ca_file),
        )


@contextmanager
def directory(label: str) -> Iterator[Directory]:
    """A sandbox OU tree on the (started or reused) Samba DC, removed after."""
    dc = samba_dc.acquire(samba_dc.default_directory())
    connection = connect(dc.url, dc.admin_user, dc.admin_password, str(dc.ca_file))
    ensure_layout(connection, f"OU=iam-policy-groups,{dc.base_dn}", POLICY_GROUPS)
    root = f"OU=bench-{label}-{secrets.token_hex(3)},{dc.base_dn}"
    layout = ensure_layout(connection, root)
    try:
        yield Directory(dc, root, layout.people, layout.leavers)
    finally:
        delete_tree(connection, root)
        connection.unbind()
        samba_dc.release(samba_dc.default_directory())


@contextmanager
def pg_schema() -> Iterator[str]:
    schema = f"iam_bench_{secrets.token_hex(4)}"
    engine = create_engine(normalize_url(PG_URL))
    with engine.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    upgrade(PG_URL, schema=schema)
    try:
        yield schema
    finally:
        with engine.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


class AdLayout(Protocol):
    """Where the benchmark's accounts live: a DC and its two OUs."""

    @property
    def dc(self) -> samba_dc.DomainController: ...
    @property
    def people(self) -> str: ...
    @property
    def leavers(self) -> str: ...


def service_env(
    schema: str,
    d: AdLayout,
    workdir: Path,
    *,
    name: str = "Benchmark AD",
    **extra: str,
) -> dict[str, str]:
    """The environment of ``iamctl`` processes for ``d``: the PostgreSQL
    ``schema``, a connectors file in ``workdir``, ``extra`` IAM_* settings."""
    config = workdir / "connectors.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "systems": [
                    {
                        "key": "ad",
                        "kind": "active_directory",
                        "name": name,
                        "purpose": "benchmark accounts (dummy data, 8.33)",
                        "owner": "benchmarks",
                        "max_parallel": int(os.environ.get("BENCH_AD_PARALLEL", "1")),
                        "settings": {
                            "url": d.dc.url,
                            "bind_user": d.dc.admin_user,
                            "bind_password_env": "IAM_AD_BIND_PASSWORD",
                            "base_dn": d.dc.base_dn,
                            "users_ou": d.people,
                            "leavers_ou": d.leavers,
                            "ca_file": str(d.dc.ca_file),
                            "upn_suffix": d.dc.realm.lower(),
                        },
                    }
                ]
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("IAM_")}
    env.update(
        {
            "IAM_DATABASE_URL": PG_URL,
            "IAM_DATABASE_SCHEMA": schema,
            "IAM_DEMO_MODE": "1",
            "IAM_CONNECTORS_FILE": str(config),
            "IAM_AD_BIND_PASSWORD": d.dc.admin_password,
            "IAM_SCHEDULER_ENABLED": "0",
            "IAM_LOG_LEVEL": "WARNING",
            **extra,
        }
    )
    return env


def approve_systems(env: dict[str, str]) -> None:
    """Approve the benchmark's systems in the cloud-service register (5.23),
    as the demo does, so that the workers run their operations."""
    from iam_service.bootstrap import bootstrap
    from iam_service.demo import approve_demo_systems
    from iam_service.settings import Settings

    container = bootstrap(
        Settings(
            database_url=env["IAM_DATABASE_URL"],
            database_schema=env["IAM_DATABASE_SCHEMA"],
            demo_mode=True,
            connectors_file=Path(env["IAM_CONNECTORS_FILE"]),
        ),
        capabilities={},  # the register needs no connector
    )
    approve_demo_systems(container)
    container.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def processes(
    env: dict[str, str], workdir: Path, commands: Sequence[Sequence[str]]
) -> Iterator[list[subprocess.Popen[bytes]]]:
    started = []
    for n, args in enumerate(commands):
        with (workdir / f"proc{n}.log").open("ab") as log:
            started.append(
                subprocess.Popen(
                    [sys.executable, "-m", "iam_service", *args],
                    env=env,
                    cwd=REPO_ROOT,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
    try:
        yield started
    finally:
        for p in started:
            p.terminate()
        for p in started:
            p.wait(timeout=60)


def wait_for(
    predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.01
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out waiting for {what}")


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary_ms(values: Sequence[float]) -> dict[str, float]:
    return {
        "median": statistics.median(values) * 1000,
        "p99": percentile(values, 99) * 1000,
        "n": float(len(values)),
    }


def machine() -> str:
    return (
        f"{os.cpu_count()} cores, Python {platform.python_version()}, PostgreSQL on "
        "127.0.0.1, Samba AD DC on loopback"
    )


def write_section(name: str, body: str) -> None:
    """Replace (or append) the section ``name`` in docs/benchmarks.md."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = f"{start}\n{body.strip()}\n\n_Measured {stamp} on {machine()}._\n{end}"
    text_ = (
        RESULTS.read_text()
        if RESULTS.exists()
        else (
            "# Benchmarks\n\nEach result is measured against the bare protocol floor: "
            "the same operations sent directly, in the same run. Regenerate with "
            "`make bench`.\n"
        )
    )
    if start in text_ and end in text_:
        before, rest = text_.split(start, 1)
        text_ = before + block + rest.split(end, 1)[1]
    else:
        text_ = text_.rstrip() + "\n\n" + block + "\n"
    RESULTS.write_text(text_)
