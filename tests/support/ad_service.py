"""The service wired to the real Samba AD: policy groups, connector files,
and ``iamctl worker`` processes for crash and concurrency tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from connectors.active_directory import (
    AD_CAPABILITIES,
    ActiveDirectoryConnector,
    ADSettings,
)
from connectors.base import Connector, Secret
from iam_service.bootstrap import Container
from iam_service.domain.clock import FrozenClock
from iam_service.settings import REPO_ROOT
from tests.support.db import TestDatabase
from tests.support.samba import AdSandbox, SambaDc
from tests.support.service import POLICY_GROUPS, build_with_factory
from tools.samba_directory import connect, ensure_layout

POLICY_OU = "OU=iam-policy-groups"


@dataclass(frozen=True)
class AdTarget:
    """Where the service's AD accounts go in this test."""

    settings: ADSettings
    sandbox: AdSandbox
    groups_ou: str

    def connector(self) -> Connector:
        return ActiveDirectoryConnector(self.settings)


@pytest.fixture(scope="session")
def policy_groups(samba_dc: SambaDc) -> str:
    """The policy's groups, created once in a shared OU (sAMAccountNames are
    unique in the domain, so tests share them; their members are per test)."""
    connection = connect(
        samba_dc.url, samba_dc.admin_user, samba_dc.admin_password, samba_dc.ca_file
    )
    try:
        layout = ensure_layout(
            connection,
            f"{POLICY_OU},{samba_dc.base_dn}",
            [g for g in POLICY_GROUPS if g != "Domain Admins"],
        )
    finally:
        connection.unbind()
    return layout.groups


@pytest.fixture
def ad_target(samba_dc: SambaDc, ad_sandbox: AdSandbox, policy_groups: str) -> AdTarget:
    settings = ADSettings(
        system_id="ad",
        url=samba_dc.url,
        bind_user=samba_dc.admin_user,
        bind_password=Secret(samba_dc.admin_password),
        base_dn=samba_dc.base_dn,
        users_ou=ad_sandbox.people,
        groups_ou=None,
        leavers_ou=ad_sandbox.leavers,
        ca_file=samba_dc.ca_file,
        upn_suffix=samba_dc.upn_suffix,
    )
    return AdTarget(settings, ad_sandbox, policy_groups)


def ad_container(
    db: TestDatabase,
    target: AdTarget,
    clock: FrozenClock | None = None,
    **overrides: Any,
) -> Container:
    settings = target.settings

    def factory(_: str) -> Connector:
        return ActiveDirectoryConnector(settings)

    return build_with_factory(db, factory, {"ad": AD_CAPABILITIES}, clock, **overrides)


@pytest.fixture
def ad_service(database: TestDatabase, ad_target: AdTarget) -> Iterator[Container]:
    container = ad_container(database, ad_target)
    yield container
    container.close()


def connectors_file(path: Path, target: AdTarget) -> Path:
    """A connectors file for ``iamctl`` processes; the password comes from
    ``IAM_AD_BIND_PASSWORD`` (never written to the file)."""
    s = target.settings
    path.write_text(
        yaml.safe_dump(
            {
                "systems": [
                    {
                        "key": "ad",
                        "kind": "active_directory",
                        "name": "Test AD",
                        "settings": {
                            "url": s.url,
                            "bind_user": s.bind_user,
                            "bind_password_env": "IAM_AD_BIND_PASSWORD",
                            "base_dn": s.base_dn,
                            "users_ou": s.users_ou,
                            "leavers_ou": s.leavers_ou,
                            "ca_file": s.ca_file,
                            "upn_suffix": s.upn_suffix,
                        },
                    }
                ]
            }
        )
    )
    return path


def iamctl_env(
    db: TestDatabase, target: AdTarget, config: Path, **extra: str
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IAM_")}
    env.update(
        {
            "IAM_DATABASE_URL": db.url,
            "IAM_DEMO_MODE": "1",
            "IAM_CONNECTORS_FILE": str(config),
            "IAM_AD_BIND_PASSWORD": target.settings.bind_password.reveal(),
            "IAM_POLICY_DIR": str(REPO_ROOT / "policies"),
            "IAM_SCHEDULER_ENABLED": "0",
            **extra,
        }
    )
    if db.schema:
        env["IAM_DATABASE_SCHEMA"] = db.schema
    return env


def start_worker(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    """An ``iamctl worker`` process, as an operator would run it."""
    with log.open("ab") as output:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "iam_service", "worker", *args],
            env=env,
            cwd=REPO_ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
