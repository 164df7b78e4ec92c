"""The connectors file: which target systems exist and how to reach them.

Secrets never sit in the file: a setting named ``<name>_env`` gives the
environment variable that holds the value of ``<name>`` (for example
``bind_password_env: IAM_AD_BIND_PASSWORD``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from connectors.base import Connector, Secret
from iam_service.adapters.entra_config import build_entra
from iam_service.adapters.scim_config import build_scim
from iam_service.domain.model import Classification

ConnectorKind = Literal["active_directory", "entra", "scim", "manual", "fake"]


class SystemEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,63}$")
    kind: ConnectorKind
    name: str
    classification: Classification = Classification.INTERNAL
    purpose: str = ""
    owner: str = ""
    settings: dict[str, Any] = Field(default_factory=dict)
    # Operations one worker process runs at once on this system; None: as many
    # as it has threads. Samba serialises writes: see DEFAULT_MAX_PARALLEL.
    max_parallel: int | None = Field(default=None, ge=1)


# Measured (docs/benchmarks.md): parallel writes make Samba AD slower, so one
# at a time per worker process unless the connectors file says otherwise.
DEFAULT_MAX_PARALLEL: dict[str, int] = {"active_directory": 1}


class ConnectorsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    systems: tuple[SystemEntry, ...] = ()

    def parallel_limits(self) -> dict[str, int]:
        """``max_parallel`` per system key, with the per-kind defaults."""
        limits = {}
        for entry in self.systems:
            limit = entry.max_parallel or DEFAULT_MAX_PARALLEL.get(entry.kind)
            if limit:
                limits[entry.key] = limit
        return limits

    def entry(self, key: str) -> SystemEntry:
        for entry in self.systems:
            if entry.key == key:
                return entry
        raise KeyError(f"no system {key!r} in the connectors file")


class ConnectorConfigError(ValueError):
    pass


def load_connectors_file(path: Path | None) -> ConnectorsFile:
    if path is None:
        return ConnectorsFile()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return ConnectorsFile.model_validate(data)
    except (OSError, yaml.YAMLError, ValidationError) as error:
        raise ConnectorConfigError(f"{path}: {error}") from error


def resolve_secrets(
    settings: Mapping[str, Any], env: Mapping[str, str]
) -> dict[str, Any]:
    """Replace ``x_env: VAR`` with ``x: Secret(env[VAR])``."""
    resolved: dict[str, Any] = {}
    for name, value in settings.items():
        if name.endswith("_env"):
            variable = str(value)
            if variable not in env:
                raise ConnectorConfigError(
                    f"environment variable {variable} is not set"
                )
            resolved[name.removesuffix("_env")] = Secret(env[variable])
        else:
            resolved[name] = value
    return resolved


Builder = Callable[[SystemEntry, dict[str, Any]], Connector]


def _build_active_directory(entry: SystemEntry, settings: dict[str, Any]) -> Connector:
    from connectors.active_directory import ActiveDirectoryConnector, ADSettings

    return ActiveDirectoryConnector(ADSettings(system_id=entry.key, **settings))


def _build_fake(entry: SystemEntry, settings: dict[str, Any]) -> Connector:
    from connectors.fake import FakeConnector

    return FakeConnector(system_id=entry.key, **settings)


BUILDERS: dict[str, Builder] = {
    "active_directory": _build_active_directory,
    "entra": build_entra,
    "scim": build_scim,
    "fake": _build_fake,
}


def build_connector(
    entry: SystemEntry, env: Mapping[str, str] | None = None
) -> Connector:
    builder = BUILDERS.get(entry.kind)
    if builder is None:
        raise ConnectorConfigError(f"no connector for kind {entry.kind!r} yet")
    return builder(
        entry, resolve_secrets(entry.settings, env if env is not None else os.environ)
    )
