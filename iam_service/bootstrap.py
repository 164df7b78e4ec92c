"""The composition root: the one place that reads settings, builds the engine
and the connectors, and wires the use cases together.

Nothing connects at import time. ``iamctl`` commands, the web app and the
tests call ``bootstrap()`` and receive a ``Container``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from connectors.base import Capability, Connector, Secret
from iam_service.adapters import orm
from iam_service.adapters.connector_config import (
    ConnectorsFile,
    build_connector,
    load_connectors_file,
)
from iam_service.adapters.database import READ_ONLY, make_engine
from iam_service.adapters.mail import SmtpMailer, SmtpSettings, TemplateRenderer
from iam_service.adapters.policy_files import load_policy
from iam_service.adapters.vault_kv import VaultKvSecretStore, VaultSettings
from iam_service.domain.clock import Clock, SystemClock
from iam_service.domain.operations import Backoff
from iam_service.services.access_requests import AccessRequests
from iam_service.services.access_reviews import AccessReviews, build_access_reviews
from iam_service.services.active_policy import ActivePolicy
from iam_service.services.auth import AuthService
from iam_service.services.cloud_register import CloudRegister
from iam_service.services.console import ConsoleServices, build_console_services
from iam_service.services.departments import Departments
from iam_service.services.elevations import Elevations
from iam_service.services.hr_intake import HrIntake
from iam_service.services.lifecycle import LifecycleContext
from iam_service.services.movers import MoverReviews
from iam_service.services.notifications import MailOutbox, RecipientDirectory
from iam_service.services.notifier import MailNotifier
from iam_service.services.offboarding_services import (
    OffboardingServices,
    build_offboarding_services,
)
from iam_service.services.password_services import (
    PasswordServices,
    build_password_services,
)
from iam_service.services.policy_versions import PolicyVersions
from iam_service.services.privileged_services import (
    PrivilegedServices,
    build_privileged_services,
    custodian_parts,
)
from iam_service.services.provisioning import Systems
from iam_service.services.queue import OperationQueue, QueuePolicy
from iam_service.services.reconciliation import Reconciliation
from iam_service.services.register_gate import ApprovedSystems, approved_only
from iam_service.services.secret_links import LinkSettings
from iam_service.services.secret_vault import DatabaseSecretStore, SecretStore
from iam_service.services.sod_exceptions import SodExceptions
from iam_service.services.unit_of_work import UnitOfWork
from iam_service.settings import Settings, load_settings

log = logging.getLogger(__name__)
ConnectorFactory = Callable[[str], Connector]


@dataclass
class Container:
    settings: Settings
    engine: Engine
    clock: Clock
    session_factory: sessionmaker[Session]
    policy: ActivePolicy  # callable: the policy in force (8.32)
    connectors_file: ConnectorsFile
    connector_factory: ConnectorFactory
    lifecycle: LifecycleContext
    hr_intake: HrIntake
    queue: OperationQueue
    auth: AuthService
    register: CloudRegister
    policy_versions: PolicyVersions
    access_requests: AccessRequests
    sod_exceptions: SodExceptions
    departments: Departments
    mover_reviews: MoverReviews
    access_reviews: AccessReviews
    console: ConsoleServices
    mail: MailOutbox  # any use case may queue mail (services/notifications.py)
    recipients: RecipientDirectory
    offboarding: OffboardingServices
    privileged: PrivilegedServices
    elevations: Elevations  # 8.2, 8.18: time-boxed elevation, break-glass
    reconciliation: Reconciliation  # drift, read through the register gate
    passwords: PasswordServices  # 5.17: the interactive check, self-service change
    extras: dict[str, object] = field(default_factory=dict)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(
            self.session_factory,
            self.clock,
            max_attempts=self.settings.queue_max_attempts,
        )

    def store_counts(self) -> dict[str, dict[str, int]]:
        """Queue and population gauges for ``/metrics`` (8.16)."""
        with self.session_factory() as session:
            t, p = orm.operations_table, orm.persons
            ops = session.execute(select(t.c.status, func.count()).group_by(t.c.status))
            people = session.execute(
                select(p.c.status, func.count()).group_by(p.c.status)
            )
            return {
                "operations": {str(s): int(n) for s, n in ops},
                "persons": {str(s): int(n) for s, n in people},
            }

    def close(self) -> None:
        self.engine.dispose()


def bootstrap(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    connector_factory: ConnectorFactory | None = None,
    capabilities: Mapping[str, frozenset[Capability]] | None = None,
    sync_register: bool = True,
) -> Container:
    """Build the service. Tests pass a clock or connectors.

    ``sync_register`` enters the connectors file's systems in the
    cloud-service register (``iamctl systems sync`` does it itself)."""
    settings = settings or load_settings()
    orm.start_mappers()
    clock = clock or SystemClock()
    engine = make_engine(
        settings.database_url,
        schema=settings.database_schema,
        pool_size=max(5, settings.worker_threads + 2),
    )
    session_factory = sessionmaker(bind=engine, expire_on_commit=False)
    connectors_file = load_connectors_file(settings.connectors_file)
    files_policy = cache(lambda: load_policy(settings.policy_dir))
    factory = connector_factory or _factory_from_file(connectors_file)
    if capabilities is None:
        capabilities = _capabilities(connectors_file, factory)

    def uow() -> UnitOfWork:
        return UnitOfWork(
            session_factory, clock, max_attempts=settings.queue_max_attempts
        )

    # 8.32: the active stored version, else the files; activation shows at once.
    read_sessions = sessionmaker(bind=engine.execution_options(**{READ_ONLY: True}))
    policy = ActivePolicy(
        read_sessions, files_policy, ttl=settings.policy_cache_seconds
    )

    systems = Systems(capabilities)
    custodians, handover_hooks = custodian_parts(policy, systems)
    ctx = LifecycleContext(
        policy=policy,
        systems=systems,
        timezone=ZoneInfo(settings.timezone),
        custodians=custodians,  # 5.18: the privileged-account inventory
        handovers=handover_hooks,
    )
    secret_store = _secret_store(settings, uow)
    queue_policy = QueuePolicy(
        lease=timedelta(seconds=settings.queue_lease_seconds),
        backoff=Backoff(
            settings.queue_backoff_base_seconds, settings.queue_backoff_cap_seconds
        ),
    )
    approved = ApprovedSystems(uow, ttl=settings.register_cache_seconds)
    register = CloudRegister(uow, approved)
    if sync_register and connectors_file.systems:  # 5.23: new ones wait
        register.sync(connectors_file.systems, actor="system:bootstrap")
    mail = MailOutbox(uow, TemplateRenderer(), _mailer(settings))
    recipients = RecipientDirectory(
        settings.console_language, [settings.security_officer_email or ""]
    )
    passwords = build_password_services(
        uow,
        policy,
        clock,
        systems,
        approved_only(factory, approved),
        secret_store,
        company=settings.company_name,
    )
    return Container(
        settings=settings,
        engine=engine,
        clock=clock,
        session_factory=session_factory,
        policy=policy,
        connectors_file=connectors_file,
        connector_factory=factory,
        lifecycle=ctx,
        hr_intake=HrIntake(uow, ctx),
        queue=OperationQueue(
            uow,
            queue_policy,
            approved.keys,
            lambda: policy().passwords,
            secrets=secret_store,
        ),
        auth=AuthService(uow, passwords.checks.verdict),
        register=register,
        policy_versions=PolicyVersions(uow, policy, ctx),
        access_requests=AccessRequests(uow, ctx),
        sod_exceptions=SodExceptions(uow, ctx),
        departments=Departments(uow, ctx),
        mover_reviews=MoverReviews(uow, ctx),
        access_reviews=build_access_reviews(
            settings,
            uow,
            ctx,
            factory,
            approved.keys,
            outbox=mail,
            directory=recipients,
        ),
        console=build_console_services(settings, uow),
        mail=mail,
        recipients=recipients,
        offboarding=build_offboarding_services(
            uow,
            ctx,
            mail,
            recipients,
            company=settings.company_name,
            case_link=_case_link(settings.console_base_url),
        ),
        privileged=build_privileged_services(
            uow,
            policy,
            systems,
            store=secret_store,
            connectors=approved_only(factory, approved),
            approved=approved.keys,
            outbox=mail,
            recipients=recipients,
            links=LinkSettings(
                settings.secret_link_minutes, settings.secret_reauth_minutes
            ),
            company=settings.company_name,
            base_url=settings.console_base_url,
        ),
        elevations=Elevations(
            uow,
            ctx,
            MailNotifier(  # 8.2, 8.18: the security officer hears at once
                mail,
                recipients,
                company=settings.company_name,
                base_url=settings.console_base_url,
            ),
        ),
        reconciliation=Reconciliation(uow, ctx, approved_only(factory, approved)),
        passwords=passwords,
    )


def _secret_store(settings: Settings, uow: Callable[[], UnitOfWork]) -> SecretStore:
    """Where rotated passwords wait to be shown once (5.17): sealed rows in
    our database, or HashiCorp Vault KV v2."""
    vault = settings.secret_store == "vault"  # noqa: S105 - a store's name
    if vault and settings.vault_url and settings.vault_token:
        return VaultKvSecretStore(
            VaultSettings(
                url=settings.vault_url,
                token=Secret(settings.vault_token.get_secret_value()),
                mount=settings.vault_mount,
                path=settings.vault_path,
                ca_file=str(settings.vault_ca_file) if settings.vault_ca_file else None,
                namespace=settings.vault_namespace,
            )
        )
    return DatabaseSecretStore(uow, settings.secret_key.get_secret_value())


def _case_link(base_url: str | None) -> Callable[[int], str] | None:
    """The console page of a case, for mail; None without a public URL."""
    if not base_url:
        return None
    root = base_url.rstrip("/")
    return lambda case_id: f"{root}/console/offboarding/{case_id}"


def _mailer(settings: Settings) -> SmtpMailer | None:
    """SMTP when a host is set; without one, mail waits in the outbox."""
    if not settings.smtp_host:
        return None
    password = settings.smtp_password
    return SmtpMailer(
        SmtpSettings(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            sender=settings.smtp_from,
            username=settings.smtp_username,
            password=password.get_secret_value() if password else None,
            ca_file=str(settings.smtp_ca_file) if settings.smtp_ca_file else None,
            timeout=settings.smtp_timeout_seconds,
        )
    )


def _factory_from_file(connectors_file: ConnectorsFile) -> ConnectorFactory:
    def factory(system_key: str) -> Connector:
        return build_connector(connectors_file.entry(system_key), os.environ)

    return factory


def _capabilities(
    connectors_file: ConnectorsFile, factory: ConnectorFactory
) -> dict[str, frozenset[Capability]]:
    found: dict[str, frozenset[Capability]] = {}
    for entry in connectors_file.systems:
        connector = factory(entry.key)  # connectors connect lazily
        found[entry.key] = frozenset(connector.capabilities)
        connector.close()
    return found
