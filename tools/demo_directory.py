"""The demo's corner of the local Samba AD, and the connectors file for it.

``python -m tools.demo_directory`` makes ``OU=IAM Demo`` with People,
Groups and Leavers, creates the AD groups the shipped policy names, writes
``var/demo/connectors.yaml`` and prints the shell lines that point the
service at it. Everything in it is dummy data (8.33).
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import yaml

from iam_service.adapters.policy_files import load_policy
from iam_service.settings import REPO_ROOT
from tools import samba_dc
from tools.samba_directory import admin_connection, ensure_layout

DEMO_ROOT = "OU=IAM Demo"
CONFIG = REPO_ROOT / "var" / "demo" / "connectors.yaml"


def prepare(config: Path = CONFIG) -> dict[str, str]:
    """Create the demo OUs and policy groups; return the environment to use."""
    dc = samba_dc.acquire(samba_dc.default_directory())
    policy = load_policy(REPO_ROOT / "policies")
    groups = [e.key for e in policy.entitlements if e.system_key == "ad"]
    connection = admin_connection(dc)
    try:
        existing = {g for g in groups if _exists(connection, dc.base_dn, g)}
        layout = ensure_layout(
            connection,
            f"{DEMO_ROOT},{dc.base_dn}",
            [g for g in groups if g not in existing],
        )
    finally:
        connection.unbind()
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        yaml.safe_dump(
            {
                "systems": [
                    {
                        "key": "ad",
                        "kind": "active_directory",
                        "name": "Demo Active Directory (Samba)",
                        "classification": "internal",
                        "purpose": "Demo: accounts and groups of fictitious people",
                        "owner": "IT (demo)",
                        "settings": {
                            "url": dc.url,
                            "bind_user": dc.admin_user,
                            "bind_password_env": "IAM_AD_BIND_PASSWORD",
                            "base_dn": dc.base_dn,
                            "users_ou": layout.people,
                            "leavers_ou": layout.leavers,
                            "ca_file": str(dc.ca_file),
                            "upn_suffix": dc.realm.lower(),
                        },
                    }
                ]
            },
            allow_unicode=True,
        )
    )
    return {
        "IAM_CONNECTORS_FILE": str(config),
        "IAM_AD_BIND_PASSWORD": dc.admin_password,
    }


def _exists(connection: object, base_dn: str, group: str) -> bool:
    connection.search(base_dn, f"(sAMAccountName={group})", attributes=["cn"])  # type: ignore[attr-defined]
    return bool(connection.entries)  # type: ignore[attr-defined]


def main() -> int:
    for name, value in prepare().items():
        sys.stdout.write(f"export {name}={shlex.quote(value)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
