"""Settings for the Microsoft Entra ID connector.

The composition root builds ``EntraSettings`` from the connectors file; tests
build them for the Graph-compatible test server. Nothing here connects.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from connectors.base import Capability, PermanentError, Secret

GRAPH_MAX_PAGE_SIZE = 999  # Graph's largest $top for users


@dataclass(frozen=True)
class EntraCertificate:
    """A certificate credential registered on the app.

    ``thumbprint`` is the SHA-1 thumbprint as the Entra portal shows it (hex).
    With ``certificate_file`` the public certificate is also sent (``x5c``),
    which subject-name/issuer authentication needs.
    """

    private_key_file: str
    thumbprint: str
    certificate_file: str | None = None


@dataclass(frozen=True)
class EntraSettings:
    """Which tenant and app, where Graph is, and how patient to be.

    Exactly one of ``client_secret`` and ``certificate`` is given.
    ``max_inline_wait`` is the longest ``Retry-After`` the connector waits out
    by itself (idempotent reads and ``$batch`` items only); anything longer is
    raised as ``Throttled`` so the queue schedules the retry without holding a
    worker thread. ``read_sign_in_activity`` needs AuditLog.Read.All and an
    Entra ID P1 licence in the tenant; without both Graph refuses the read.
    """

    system_id: str
    tenant_id: str
    client_id: str
    domain: str  # user principal names are username@domain
    client_secret: Secret | None = None
    certificate: EntraCertificate | None = None
    authority_host: str = "https://login.microsoftonline.com"
    graph_url: str = "https://graph.microsoft.com/v1.0"
    scope: str = "https://graph.microsoft.com/.default"
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    page_size: int = GRAPH_MAX_PAGE_SIZE
    usage_location: str | None = None  # ISO country code; licences need one
    read_sign_in_activity: bool = False
    get_retries: int = 2
    max_inline_wait: float = 2.0
    batch_rounds: int = 3

    def __post_init__(self) -> None:
        if (self.client_secret is None) == (self.certificate is None):
            raise ValueError("give exactly one of client_secret and certificate")
        for name in ("authority_host", "graph_url"):
            url = urlsplit(getattr(self, name))
            if url.scheme != "https" or not url.hostname:  # 8.24: TLS only
                raise ValueError(f"{name} must be an https:// URL")
        if not 1 <= self.page_size <= GRAPH_MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1 to {GRAPH_MAX_PAGE_SIZE}")
        if not self.tenant_id or not self.client_id or not self.domain:
            raise ValueError("tenant_id, client_id and domain are required")

    @property
    def authority(self) -> str:
        return f"{self.authority_host.rstrip('/')}/{self.tenant_id}"

    @property
    def graph_base(self) -> str:
        return self.graph_url.rstrip("/")

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.connect_timeout, self.read_timeout)

    def msal_credential(self) -> str | dict[str, str]:
        """The ``client_credential`` msal expects; reads the key file."""
        if self.client_secret is not None:
            return self.client_secret.reveal()
        cert = self.certificate
        assert cert is not None  # noqa: S101 - __post_init__ guarantees one
        try:
            credential = {
                "private_key": Path(cert.private_key_file).read_text(encoding="ascii"),
                "thumbprint": cert.thumbprint.replace(":", "").lower(),
            }
            if cert.certificate_file:
                credential["public_certificate"] = Path(
                    cert.certificate_file
                ).read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise PermanentError(
                f"cannot read the app's certificate files: {exc.__class__.__name__}",
                system=self.system_id,
            ) from None
        return credential


ENTRA_CAPABILITIES = frozenset(
    {
        Capability.PASSWORD,
        Capability.REVOKE_SESSIONS,
        Capability.REMOVE_LICENSES,
        Capability.GROUPS,
        Capability.DELETE,
    }
)


def capabilities_for(settings: EntraSettings) -> frozenset[Capability]:
    # No MOVE_TO_LEAVERS (Entra has no containers for users) and no
    # TEST_BIND (Graph cannot check a password).
    if settings.read_sign_in_activity:
        return ENTRA_CAPABILITIES | {Capability.LAST_SIGN_IN}
    return ENTRA_CAPABILITIES
