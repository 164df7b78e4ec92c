"""App-only tokens for Microsoft Graph from msal, over the connector's session.

msal's ``ConfidentialClientApplication`` is built on first use (building it
fetches the authority's OIDC discovery document, and nothing may connect at
construction). It keeps tokens in its ``TokenCache``, which several
connectors of one process may share, and only calls the token endpoint again
when the cached token is about to expire. Tokens and secrets are never
logged or put into error messages.
"""

from __future__ import annotations

from typing import Any

import msal
import requests

from connectors.base import PermanentError, RetryableError
from connectors.entra_settings import EntraSettings
from connectors.graph_errors import error_for_token


class _MsalHttp:
    """The session as msal's ``http_client``, with our timeouts (msal sets
    none on a session it did not create)."""

    def __init__(self, session: requests.Session, timeout: tuple[float, float]):
        self._session = session
        self._timeout = timeout

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout)
        return self._session.get(url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout)
        return self._session.post(url, **kwargs)

    def close(self) -> None:
        """The session belongs to the GraphClient, which closes it."""


def new_token_cache() -> Any:
    """An empty msal token cache (thread-safe) to share between connectors."""
    return msal.TokenCache()


class AppTokens:
    """Client-credentials tokens for one app registration."""

    def __init__(
        self, settings: EntraSettings, session: requests.Session, cache: Any = None
    ) -> None:
        self.settings = settings
        self._session = session
        self._cache = cache if cache is not None else new_token_cache()
        self._app: Any = None

    def token(self) -> str:
        """An access token, from msal's cache while it is still valid."""
        app = self._msal_app()
        system = self.settings.system_id
        try:
            result = app.acquire_token_for_client(scopes=[self.settings.scope])
        except requests.RequestException as exc:
            raise transport_error("token request", exc, system) from None
        except (ValueError, TypeError) as exc:  # an unusable key or certificate
            raise PermanentError(
                "token request: the app credential is unusable "
                f"({exc.__class__.__name__})",
                system=system,
            ) from None
        if isinstance(result, dict) and result.get("access_token"):
            return str(result["access_token"])
        raise error_for_token(result or {}, system=system)

    def forget(self) -> None:
        """Drop the cached token (Graph refused it); the next call asks anew."""
        if self._app is not None:
            self._app.remove_tokens_for_client()

    def _msal_app(self) -> Any:
        if self._app is None:
            s = self.settings
            try:
                self._app = msal.ConfidentialClientApplication(
                    s.client_id,
                    client_credential=s.msal_credential(),
                    authority=s.authority,
                    http_client=_MsalHttp(self._session, s.timeout),
                    token_cache=self._cache,
                    instance_discovery=False,
                    app_name="iam-lifecycle",
                )
            except requests.RequestException as exc:
                raise transport_error("authority discovery", exc, s.system_id) from None
            except ValueError as exc:
                raise PermanentError(
                    f"authority {s.authority} is not usable (tenant id?): "
                    f"{str(exc)[:300]}",
                    system=s.system_id,
                ) from None
        return self._app


def transport_error(
    action: str, exc: requests.RequestException, system: str
) -> RetryableError | PermanentError:
    """The connector error for a request that got no HTTP answer."""
    if isinstance(exc, requests.exceptions.SSLError):
        # 8.24: a certificate that does not verify is not a glitch.
        return PermanentError(
            f"{action}: TLS verification failed: {exc.__class__.__name__}",
            system=system,
        )
    if isinstance(exc, requests.Timeout):
        return RetryableError(f"{action}: no answer in time", system=system)
    return RetryableError(
        f"{action}: cannot reach the server ({exc.__class__.__name__})",
        system=system,
    )
