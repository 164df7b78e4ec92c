"""The identity side of the Graph test server: OIDC discovery and the
client-credentials token endpoint, enough for the real msal library.

Apps authenticate with a client secret or with a client assertion: a JWT
signed by the private key of a certificate registered on the app, found by
its ``x5t`` (SHA-1) or ``x5t#S256`` thumbprint. Tokens are opaque random
strings with an expiry; the server refuses unknown or expired ones with 401
as Graph does. Credentials are dummies (8.33).
"""

from __future__ import annotations

import base64
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass
class App:
    client_id: str
    secret: str | None = None
    certificates: dict[str, x509.Certificate] = field(default_factory=dict)


@dataclass(frozen=True)
class TokenReply:
    status: int
    body: dict[str, Any]


def thumbprints(cert: x509.Certificate) -> tuple[str, str]:
    """The ``x5t`` and ``x5t#S256`` header values of a certificate."""
    return (
        base64.urlsafe_b64encode(cert.fingerprint(hashes.SHA1())).decode(),  # noqa: S303
        base64.urlsafe_b64encode(cert.fingerprint(hashes.SHA256())).decode(),
    )


class Identity:
    """Registered apps and the tokens issued to them. Thread-safe."""

    def __init__(self, base_url: str, tenant: str) -> None:
        self.base_url = base_url
        self.tenant = tenant
        self.token_lifetime = 3600
        self.apps: dict[str, App] = {}
        self._tokens: dict[str, tuple[str, float]] = {}  # token -> (client, expiry)
        self._lock = threading.Lock()

    @property
    def token_endpoint(self) -> str:
        return f"{self.base_url}/{self.tenant}/oauth2/v2.0/token"

    def register(
        self,
        client_id: str,
        *,
        secret: str | None = None,
        certificate_pem: bytes | None = None,
    ) -> App:
        app = self.apps.setdefault(client_id, App(client_id))
        if secret is not None:
            app.secret = secret
        if certificate_pem is not None:
            cert = x509.load_pem_x509_certificate(certificate_pem)
            for thumbprint in thumbprints(cert):
                app.certificates[thumbprint] = cert
        return app

    def revoke_all(self) -> None:
        """Forget every token issued (a key rollover, say): Graph answers 401."""
        with self._lock:
            self._tokens.clear()

    def discovery(self, tenant: str) -> TokenReply:
        if tenant != self.tenant:
            return TokenReply(
                400,
                {
                    "error": "invalid_tenant",
                    "error_description": f"AADSTS90002: Tenant '{tenant}' not found.",
                },
            )
        root = f"{self.base_url}/{tenant}"
        return TokenReply(
            200,
            {
                "issuer": f"{root}/v2.0",
                "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
                "token_endpoint": f"{root}/oauth2/v2.0/token",
                "jwks_uri": f"{root}/discovery/v2.0/keys",
                "response_types_supported": ["code", "id_token", "token"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                ],
                "tenant_region_scope": "AS",
            },
        )

    def token(self, tenant: str, form: dict[str, str]) -> TokenReply:
        if tenant != self.tenant:
            return _error(
                400, "invalid_tenant", f"AADSTS90002: Tenant '{tenant}' not found."
            )
        if form.get("grant_type") != "client_credentials":
            return _error(
                400,
                "unsupported_grant_type",
                "AADSTS70003: The app requested an unsupported grant type.",
            )
        if not form.get("scope", "").endswith("/.default"):
            return _error(
                400,
                "invalid_scope",
                "AADSTS1002012: The provided value for scope is not valid. Client "
                "credential flows must have a scope value with /.default suffixed "
                "to the resource identifier.",
            )
        app = self.apps.get(form.get("client_id", ""))
        if app is None:
            return _error(
                400,
                "unauthorized_client",
                f"AADSTS700016: Application with identifier '{form.get('client_id')}' "
                "was not found in the directory.",
            )
        problem = self._authenticate(app, form)
        if problem is not None:
            return _error(401, "invalid_client", problem)
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = (
                app.client_id,
                time.monotonic() + self.token_lifetime,
            )
        return TokenReply(
            200,
            {
                "token_type": "Bearer",
                "expires_in": self.token_lifetime,
                "ext_expires_in": self.token_lifetime,
                "access_token": token,
            },
        )

    def check_bearer(self, header: str | None) -> str | None:
        """None when the Authorization header holds a live token, else why not."""
        if not header or not header.startswith("Bearer "):
            return "Access token is empty."
        with self._lock:
            found = self._tokens.get(header.removeprefix("Bearer "))
        if found is None:
            return "Invalid access token."
        if found[1] < time.monotonic():
            return "Lifetime validation failed, the token is expired."
        return None

    def _authenticate(self, app: App, form: dict[str, str]) -> str | None:
        if "client_secret" in form:
            if app.secret is not None and hmac.compare_digest(
                form["client_secret"].encode(), app.secret.encode()
            ):
                return None
            return (
                "AADSTS7000215: Invalid client secret provided. Ensure the secret "
                "being sent in the request is the client secret value, not the "
                "client secret ID."
            )
        if form.get("client_assertion_type") == ASSERTION_TYPE:
            return self._check_assertion(app, form.get("client_assertion", ""))
        return (
            "AADSTS7000216: 'client_assertion', 'client_secret' or 'request' is "
            "required for the 'client_credentials' grant type."
        )

    def _check_assertion(self, app: App, assertion: str) -> str | None:
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            return "AADSTS50027: JWT token is invalid or malformed."
        cert = app.certificates.get(header.get("x5t#S256", "")) or app.certificates.get(
            header.get("x5t", "")
        )
        if cert is None:
            return (
                "AADSTS700027: The certificate with identifier used to sign the "
                "client assertion is not registered on application."
            )
        try:
            claims = jwt.decode(
                assertion,
                cert.public_key(),  # type: ignore[arg-type]
                algorithms=["RS256", "PS256"],
                audience=self.token_endpoint,
                issuer=app.client_id,
                options={"require": ["exp", "aud", "iss", "sub"]},
            )
        except jwt.PyJWTError as exc:
            return (
                "AADSTS700027: Client assertion failed signature validation. "
                f"({exc.__class__.__name__})"
            )
        if claims.get("sub") != app.client_id:
            return (
                "AADSTS700023: Client assertion subject does not match the client id."
            )
        return None


def _error(status: int, code: str, description: str) -> TokenReply:
    return TokenReply(
        status,
        {
            "error": code,
            "error_description": f"{description}\r\nTrace ID: {secrets.token_hex(8)}",
            "error_codes": [int(description[6:].split(":")[0])]
            if description.startswith("AADSTS")
            else [],
        },
    )
