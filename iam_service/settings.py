"""Settings from ``IAM_*`` environment variables (and a ``.env`` file).

Nothing reads settings at import time: ``bootstrap`` builds a ``Settings``
once and hands the values to what needs them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from iam_service.domain.audit import MIN_RETENTION_DAYS

DEMO_SECRET = "demo-secret-change-me"  # noqa: S105 - the refused default
REPO_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """The service refuses to start with these settings."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="IAM_", env_file=".env", extra="ignore"
    )

    database_url: str = "sqlite:///var/iam.db"
    # PostgreSQL only: keep the tables in this schema (search_path).
    database_schema: str | None = None
    policy_dir: Path = REPO_ROOT / "policies"
    connectors_file: Path | None = None
    demo_mode: bool = False
    secret_key: SecretStr = SecretStr(DEMO_SECRET)
    company_name: str = "Example Corp"
    # The organisation's time zone: start and end dates are days here.
    timezone: str = "Asia/Tokyo"

    # 8.15: audit logs are kept at least three months.
    audit_retention_days: int = 400

    queue_lease_seconds: float = Field(default=60.0, gt=0)
    queue_poll_seconds: float = Field(default=1.0, gt=0)
    queue_max_attempts: int = Field(default=12, ge=1)
    queue_backoff_base_seconds: float = Field(default=2.0, gt=0)
    queue_backoff_cap_seconds: float = Field(default=300.0, gt=0)
    worker_threads: int = Field(default=4, ge=1, le=64)
    # 5.23: how stale a worker's view of the approved systems may be.
    register_cache_seconds: float = Field(default=5.0, ge=0, le=300)
    # 8.32: how stale another process's view of the active policy version
    # may be (the process that activates one sees it at once).
    policy_cache_seconds: float = Field(default=2.0, ge=0, le=300)

    scheduler_enabled: bool = True
    log_level: str = "INFO"

    # Outgoing mail over SMTP (escalations, reminders; adapters/mail.py).
    # Without a host, messages wait in the outbox until one is configured.
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    # 8.24: "none" (plain SMTP) is refused unless the host is loopback.
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "iam-service@example.test"
    smtp_ca_file: Path | None = None  # CA bundle to verify the server with
    smtp_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # The security officer's (管理責任者) address for escalations.
    security_officer_email: str | None = None

    # Rotated admin passwords (5.17, 5.18; services/secret_vault.py): where
    # they wait, sealed, until shown once through a one-time link.
    secret_store: Literal["database", "vault"] = "database"  # noqa: S105 - a name
    secret_link_minutes: float = Field(default=15.0, gt=0, le=24 * 60)
    # The recipient must have signed in within this many minutes to see one.
    secret_reauth_minutes: float = Field(default=5.0, gt=0, le=60)
    # HashiCorp Vault KV v2 (IAM_SECRET_STORE=vault; adapters/vault_kv.py).
    vault_url: str | None = None
    vault_token: SecretStr | None = None
    vault_mount: str = "secret"
    vault_path: str = "iam/rotations"
    vault_ca_file: Path | None = None
    vault_namespace: str | None = None

    # The console (docs/console.md, ADR 0012): sessions, sign-in protection.
    console_language: Literal["ja", "en"] = "ja"  # the organisation's language
    # The console's public URL (SSO redirect URI); None: the request's own.
    console_base_url: str | None = None
    session_idle_minutes: float = Field(default=30.0, gt=0, le=24 * 60)
    session_absolute_hours: float = Field(default=10.0, gt=0, le=7 * 24)
    session_cookie_secure: bool = True  # False only for a local http demo
    login_max_failures: int = Field(default=5, ge=1, le=100)
    login_lockout_minutes: float = Field(default=15.0, gt=0)
    login_address_limit: int = Field(default=20, ge=1)  # failures per window
    login_address_window_minutes: float = Field(default=10.0, gt=0)
    # SSO with Entra ID (OpenID Connect, auth code + PKCE); off when unset.
    sso_tenant_id: str | None = None
    sso_client_id: str | None = None
    sso_client_secret: SecretStr | None = None
    sso_authority_host: str = "https://login.microsoftonline.com"
    sso_ca_file: Path | None = None
    sso_employee_id_claim: str = "employeeId"
    sso_entra_system: str = "entra"  # whose accounts map an Entra object id

    @field_validator("audit_retention_days")
    @classmethod
    def _retention_floor(cls, value: int) -> int:
        if value < MIN_RETENTION_DAYS:
            raise ValueError(
                f"audit retention of {value} days is below the "
                f"{MIN_RETENTION_DAYS}-day minimum of regulation 8.15"
            )
        return value

    @model_validator(mode="after")
    def _no_default_secret_in_production(self) -> Settings:
        if not self.demo_mode and self.secret_key.get_secret_value() == DEMO_SECRET:
            raise ValueError(
                "IAM_SECRET_KEY is the demo default; set a secret of your own "
                "(or IAM_DEMO_MODE=1 for a throwaway demo)"
            )
        return self

    @model_validator(mode="after")
    def _smtp_over_tls(self) -> Settings:
        loopback = self.smtp_host in (None, "localhost", "127.0.0.1", "::1")
        if self.smtp_security == "none" and not loopback:
            raise ValueError(
                "IAM_SMTP_SECURITY=none sends mail in clear text; it is allowed "
                "only to a loopback relay (8.24): use starttls or ssl"
            )
        return self

    @model_validator(mode="after")
    def _vault_complete(self) -> Settings:
        vault = self.secret_store == "vault"  # noqa: S105 - a store's name
        if vault and not (self.vault_url and self.vault_token):
            raise ValueError(
                "IAM_SECRET_STORE=vault needs IAM_VAULT_URL and IAM_VAULT_TOKEN"
            )
        return self

    @property
    def sso_enabled(self) -> bool:
        return bool(
            self.sso_tenant_id and self.sso_client_id and self.sso_client_secret
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings() -> Settings:
    """Read the environment; a refused setting becomes one clear error."""
    try:
        return Settings()
    except ValueError as error:
        raise SettingsError(str(error)) from error
