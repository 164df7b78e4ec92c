"""The console's use cases, wired from the settings (ADR 0012, 0013)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import requests

from iam_service.adapters.entra_sign_in import EntraSignIn, EntraSignInConfig
from iam_service.domain.console import SessionLimits
from iam_service.services.console_roles import ConsoleRoles
from iam_service.services.console_sessions import ConsoleSessions
from iam_service.services.local_sign_in import Guard, LocalSignIn
from iam_service.services.secret_box import SecretBox
from iam_service.services.sso_sign_in import OidcClient, SsoSignIn
from iam_service.services.unit_of_work import UnitOfWorkFactory
from iam_service.settings import Settings


@dataclass
class ConsoleServices:
    sessions: ConsoleSessions
    roles: ConsoleRoles
    local: LocalSignIn
    sso: SsoSignIn | None  # None: no SSO configured
    limits: SessionLimits
    csrf_key: bytes  # HMAC key of the CSRF tokens (from IAM_SECRET_KEY)


def build_console_services(
    settings: Settings, uow_factory: UnitOfWorkFactory
) -> ConsoleServices:
    secret = settings.secret_key.get_secret_value()
    limits = SessionLimits(
        idle=timedelta(minutes=settings.session_idle_minutes),
        absolute=timedelta(hours=settings.session_absolute_hours),
    )
    guard = Guard(
        max_failures=settings.login_max_failures,
        lockout=timedelta(minutes=settings.login_lockout_minutes),
        address_limit=settings.login_address_limit,
        address_window=timedelta(minutes=settings.login_address_window_minutes),
    )
    box = SecretBox(secret, "console-sign-in")
    sso = None
    if settings.sso_enabled:
        sso = SsoSignIn(
            uow_factory,
            _oidc_factory(settings),
            box,
            limits,
            guard,
            employee_id_claim=settings.sso_employee_id_claim,
            entra_system=settings.sso_entra_system,
        )
    return ConsoleServices(
        sessions=ConsoleSessions(uow_factory, limits),
        roles=ConsoleRoles(uow_factory),
        local=LocalSignIn(uow_factory, box, limits, guard),
        sso=sso,
        limits=limits,
        csrf_key=SecretBox.derive(secret, "console-csrf"),
    )


def _oidc_factory(settings: Settings) -> Callable[[], OidcClient]:
    """One msal client per process, built at the first sign-in (nothing
    connects at start-up)."""
    built: list[EntraSignIn] = []

    def factory() -> OidcClient:
        if not built:
            session = requests.Session()
            session.trust_env = settings.sso_ca_file is None
            if settings.sso_ca_file is not None:
                session.verify = str(settings.sso_ca_file)
            secret = settings.sso_client_secret
            built.append(
                EntraSignIn(
                    EntraSignInConfig(
                        tenant_id=settings.sso_tenant_id or "",
                        client_id=settings.sso_client_id or "",
                        client_secret=secret.get_secret_value() if secret else "",
                        authority_host=settings.sso_authority_host,
                    ),
                    session,
                )
            )
        return built[0]

    return factory
