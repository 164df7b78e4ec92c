"""The service wired to three real systems at once: Samba AD, Entra ID (the
Graph test server through real msal) and a SaaS tool over SCIM (scim2-server,
directly or through a vendor-deviation proxy). Used by the fan-out tests and
the offboarding end-to-end test."""

from __future__ import annotations

from pathlib import Path

from connectors.active_directory import AD_CAPABILITIES, ActiveDirectoryConnector
from connectors.base import Connector
from connectors.entra import EntraConnector
from connectors.scim import ScimConnector
from connectors.scim_settings import ScimSettings
from iam_service.bootstrap import Container
from iam_service.domain.clock import FrozenClock
from tests.support.ad_service import AdTarget
from tests.support.db import TestDatabase
from tests.support.graph_server import GraphServer
from tests.support.policies import ENTRA_GROUP, SAAS_GROUP, three_system_policy
from tests.support.scim_server import ScimTenant, plain_session
from tests.support.service import build_with_factory


def three_system_container(
    database: TestDatabase,
    ad_target: AdTarget,
    graph_server: GraphServer,
    entra_connector: EntraConnector,
    scim_server: ScimTenant,
    scim_settings: ScimSettings,
    clock: FrozenClock,
    policy_dir: Path,
) -> Container:
    """A container whose systems ``ad``, ``entra`` and ``saas`` are the real
    servers, with the three-system policy (a group in each) in
    ``policy_dir``. The caller closes it."""
    graph_server.directory.add_group(ENTRA_GROUP)
    scim_server.create_group(SAAS_GROUP)
    saas = ScimConnector(scim_settings, plain_session())

    def factory(key: str) -> Connector:
        if key == "ad":
            return ActiveDirectoryConnector(ad_target.settings)
        return entra_connector if key == "entra" else saas

    return build_with_factory(
        database,
        factory,
        {
            "ad": AD_CAPABILITIES,
            "entra": entra_connector.capabilities,
            "saas": saas.capabilities,
        },
        clock,
        policy_dir=three_system_policy(policy_dir),
    )
