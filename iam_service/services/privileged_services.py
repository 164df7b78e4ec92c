"""The privileged-account use cases, wired once by the composition root."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from connectors.base import Connector
from iam_service.domain.policy import Policy
from iam_service.services.handover import PrivilegedHooks
from iam_service.services.handover_cases import Handovers
from iam_service.services.notifications import MailOutbox, RecipientDirectory
from iam_service.services.privileged_discovery import PrivilegedDiscovery
from iam_service.services.privileged_inventory import (
    InventoryCustodians,
    PrivilegedInventory,
)
from iam_service.services.privileged_jobs import PrivilegedMail
from iam_service.services.provisioning import Systems
from iam_service.services.secret_links import LinkSettings, SecretLinks
from iam_service.services.secret_vault import SecretStore
from iam_service.services.unit_of_work import UnitOfWorkFactory


@dataclass
class PrivilegedServices:
    """8.2 inventory, discovery, handovers (5.18) and one-time links (5.17)."""

    inventory: PrivilegedInventory
    discovery: PrivilegedDiscovery
    handovers: Handovers
    links: SecretLinks
    mail: PrivilegedMail
    store: SecretStore
    systems: Systems


def custodian_parts(
    policy: Callable[[], Policy], systems: Systems
) -> tuple[InventoryCustodians, PrivilegedHooks]:
    """What the lifecycle context needs: the offboarding case's custodian
    lookup and the termination/transfer hooks."""
    return InventoryCustodians(), PrivilegedHooks(policy, systems)


def build_privileged_services(
    uow_factory: UnitOfWorkFactory,
    policy: Callable[[], Policy],
    systems: Systems,
    *,
    store: SecretStore,
    connectors: Callable[[str], Connector],
    approved: Callable[[], frozenset[str]],
    outbox: MailOutbox,
    recipients: RecipientDirectory,
    links: LinkSettings,
    company: str,
    base_url: str | None,
) -> PrivilegedServices:
    mail = PrivilegedMail(
        uow_factory, policy, outbox, recipients, company=company, base_url=base_url
    )
    return PrivilegedServices(
        inventory=PrivilegedInventory(uow_factory, policy),
        discovery=PrivilegedDiscovery(uow_factory, policy, connectors, approved),
        handovers=Handovers(uow_factory, systems, announce=mail.announce),
        links=SecretLinks(uow_factory, store, policy, links),
        mail=mail,
        store=store,
        systems=systems,
    )
