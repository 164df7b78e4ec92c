"""Sign-in with Entra ID: OpenID Connect authorisation code flow with PKCE,
through msal (``initiate_auth_code_flow`` / ``acquire_token_by_auth_code_flow``).

msal creates the state, the nonce and the PKCE verifier (S256) and checks
state and nonce on the way back; since msal 1.38 it no longer validates the
ID token, so this module does (ADR 0013): RS256 signature against the
tenant's published keys (JWKS), issuer, audience, expiry and tenant id.
The ``Any`` of msal stays in this module.
"""

from __future__ import annotations

import threading
import time
import warnings
from dataclasses import dataclass
from typing import Any

import jwt
import msal
import requests

from iam_service.domain.console import OidcError

_KEYS_TTL = 3600.0  # seconds a fetched key set is reused (key rollover)


@dataclass(frozen=True)
class EntraSignInConfig:
    tenant_id: str
    client_id: str
    client_secret: str
    authority_host: str = "https://login.microsoftonline.com"
    timeout: tuple[float, float] = (5.0, 30.0)

    @property
    def authority(self) -> str:
        return f"{self.authority_host.rstrip('/')}/{self.tenant_id}"


class _Http:
    """The session as msal's ``http_client``, with timeouts."""

    def __init__(self, session: requests.Session, timeout: tuple[float, float]):
        self._session, self._timeout = session, timeout

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout)
        return self._session.get(url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout)
        return self._session.post(url, **kwargs)

    def close(self) -> None:
        """The session's owner closes it."""


class EntraSignIn:
    """One per process; thread-safe. ``session`` carries the CA to trust."""

    def __init__(self, config: EntraSignInConfig, session: requests.Session) -> None:
        self.config = config
        self._http = _Http(session, config.timeout)
        self._app: Any = None
        self._keys: tuple[float, dict[str, Any]] | None = None
        self._lock = threading.Lock()

    def begin(self, redirect_uri: str) -> tuple[str, dict[str, Any]]:
        """The URL to send the browser to, and the flow to keep server-side."""
        try:
            with warnings.catch_warnings():
                # msal recommends form_post; the code comes back in the query
                # instead so that the flow cookie can stay SameSite=Lax. A code
                # read from a URL is worthless without the PKCE verifier and
                # the client secret, both of which stay here (ADR 0013).
                warnings.filterwarnings("ignore", "response_mode", UserWarning)
                flow = self._msal().initiate_auth_code_flow(
                    scopes=[], redirect_uri=redirect_uri, response_mode="query"
                )
        except (requests.RequestException, ValueError) as exc:
            raise OidcError(
                f"Entra ID is out of reach ({exc.__class__.__name__})"
            ) from None
        return str(flow["auth_uri"]), dict(flow)

    def complete(
        self, flow: dict[str, Any], response: dict[str, str]
    ) -> dict[str, Any]:
        """Redeem the code (with the PKCE verifier) and return the ID token's
        claims once they check."""
        if "error" in response:
            raise OidcError(
                f"Entra ID refused: {response.get('error')}: "
                f"{response.get('error_description', '')[:300]}"
            )
        try:
            result = self._msal().acquire_token_by_auth_code_flow(flow, response)
        except ValueError as exc:  # state mismatch, nonce mismatch, ...
            raise OidcError(f"the sign-in answer does not check: {exc}") from None
        except requests.RequestException as exc:
            raise OidcError(
                f"Entra ID is out of reach ({exc.__class__.__name__})"
            ) from None
        if not isinstance(result, dict) or "id_token" not in result:
            error = result.get("error_description") if isinstance(result, dict) else ""
            raise OidcError(f"Entra ID refused the code: {str(error)[:300]}")
        return self.validate(str(result["id_token"]))

    def validate(self, id_token: str) -> dict[str, Any]:
        discovery = self._discovery()
        try:
            header = jwt.get_unverified_header(id_token)
            key = self._key(str(header.get("kid", "")), discovery)
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key,
                algorithms=["RS256"],
                audience=self.config.client_id,
                issuer=str(discovery["issuer"]),
                leeway=120,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise OidcError(f"the ID token does not check ({exc})") from None
        if claims.get("tid") != self.config.tenant_id:
            raise OidcError("the ID token comes from another tenant")
        return claims

    def _msal(self) -> Any:
        with self._lock:
            if self._app is None:
                self._app = msal.ConfidentialClientApplication(
                    self.config.client_id,
                    client_credential=self.config.client_secret,
                    authority=self.config.authority,
                    http_client=self._http,
                    instance_discovery=False,
                    app_name="iam-lifecycle-console",
                )
            return self._app

    def _discovery(self) -> dict[str, Any]:
        url = f"{self.config.authority}/v2.0/.well-known/openid-configuration"
        return self._json(url)

    def _key(self, kid: str, discovery: dict[str, Any]) -> Any:
        now = time.monotonic()
        cached = self._keys
        if cached is None or now - cached[0] > _KEYS_TTL or kid not in cached[1]:
            keys = jwt.PyJWKSet.from_dict(self._json(str(discovery["jwks_uri"])))
            cached = (now, {k.key_id: k.key for k in keys.keys if k.key_id})
            self._keys = cached
        if kid not in cached[1]:
            raise OidcError(
                "the ID token is signed with a key the tenant does not publish"
            )
        return cached[1][kid]

    def _json(self, url: str) -> dict[str, Any]:
        try:
            answer = self._http.get(url)
            answer.raise_for_status()
            found: dict[str, Any] = answer.json()
        except (requests.RequestException, ValueError) as exc:
            raise OidcError(
                f"Entra ID is out of reach ({exc.__class__.__name__})"
            ) from None
        return found
