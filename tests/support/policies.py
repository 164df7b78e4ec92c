"""Policy directories for tests and benchmarks that connect more systems
than the shipped defaults do (the shipped policy covers AD only)."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from iam_service.settings import REPO_ROOT

ENTRA_GROUP, SAAS_GROUP = "All Staff", "Everyone"


def three_system_policy(directory: Path) -> Path:
    """The shipped policy, with staff also in Entra ID and a SaaS tool."""
    shutil.copytree(REPO_ROOT / "policies", directory)
    path = directory / "catalogue.yaml"
    catalogue = yaml.safe_load(path.read_text(encoding="utf-8"))
    for ref, name in (
        (f"entra:{ENTRA_GROUP}", "All staff (Microsoft 365)"),
        (f"saas:{SAAS_GROUP}", "Team chat workspace"),
    ):
        catalogue["entitlements"].append(
            {"ref": ref, "name": name, "classification": "internal"}
        )
    staff = next(r for r in catalogue["roles"] if r["id"] == "staff")
    staff["entitlements"] += [f"entra:{ENTRA_GROUP}", f"saas:{SAAS_GROUP}"]
    staff["accounts"] = ["ad", "entra", "saas"]
    path.write_text(yaml.safe_dump(catalogue, allow_unicode=True), encoding="utf-8")
    return directory
