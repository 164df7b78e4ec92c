"""The user sign-in side of the Graph test server: OpenID Connect's
``/authorize`` endpoint, the ``authorization_code`` grant and the signing
keys (JWKS), enough for the real msal library to run its real auth code
flow with PKCE.

There is no login form: the user "signed in at Entra" in the browser is
``signed_in`` (a user id of the test directory), set by the test. The
authorisation endpoint checks the app, its registered redirect URI, the
response type, ``state``, ``nonce`` and an S256 ``code_challenge``, then
redirects back with a one-time code (five minutes). Redeeming the code
checks the client secret, the redirect URI and the PKCE verifier and
returns an RS256 ``id_token`` with Entra's claims (``oid``, ``tid``,
``preferred_username``, ``name``, ``employeeId``, ``nonce``). Dummy data
only (8.33).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.graph_identity import Identity, TokenReply
from tests.support.graph_query import Reply
from tests.support.graph_state import GraphDirectory

CODE_SECONDS = 300


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str
    user_id: str
    expires: float
    used: bool = False


@dataclass
class SignIns:
    """Codes, keys and the signed-in user. Thread-safe."""

    identity: Identity
    directory: Callable[[], GraphDirectory]
    signed_in: str | None = None  # the user id "signed in at Entra"
    redirect_uris: dict[str, set[str]] = field(default_factory=dict)
    extra_claims: dict[str, Any] = field(default_factory=dict)
    codes: dict[str, _Code] = field(default_factory=dict)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_hex(8)

    @property
    def issuer(self) -> str:
        return f"{self.identity.base_url}/{self.identity.tenant}/v2.0"

    def reset(self) -> None:
        with self._lock:
            self.signed_in = None
            self.redirect_uris.clear()
            self.extra_claims.clear()
            self.codes.clear()
            self.authorize_requests.clear()

    def allow_redirect(self, client_id: str, uri: str) -> None:
        """Register a reply URL on the app, as in the Entra portal."""
        self.redirect_uris.setdefault(client_id, set()).add(uri)

    def jwks(self) -> dict[str, Any]:
        public = self.key.public_key().public_numbers()
        return {
            "keys": [
                {
                    "kty": "RSA",
                    "use": "sig",
                    "kid": self.kid,
                    "alg": "RS256",
                    "n": _b64int(public.n),
                    "e": _b64int(public.e),
                }
            ]
        }

    def authorize(self, tenant: str, query: dict[str, str]) -> Reply:
        with self._lock:
            self.authorize_requests.append(dict(query))
        if tenant != self.identity.tenant:
            return _page(400, "AADSTS90002: Tenant not found.")
        client_id = query.get("client_id", "")
        redirect_uri = query.get("redirect_uri", "")
        if client_id not in self.identity.apps:
            return _page(400, "AADSTS700016: Application not found in the directory.")
        if redirect_uri not in self.redirect_uris.get(client_id, set()):
            return _page(
                400,
                "AADSTS50011: The redirect URI specified in the request does not "
                "match the redirect URIs configured for the application.",
            )
        problem = _check_request(query)
        if problem is not None:
            return _redirect(
                redirect_uri,
                {
                    "error": "invalid_request",
                    "error_description": problem,
                    "state": query.get("state", ""),
                },
            )
        if self.signed_in is None:
            return _page(401, "No user is signed in at the test identity provider.")
        code = secrets.token_urlsafe(24)
        with self._lock:
            self.codes[code] = _Code(
                client_id=client_id,
                redirect_uri=redirect_uri,
                challenge=query["code_challenge"],
                nonce=query["nonce"],
                user_id=self.signed_in,
                expires=time.monotonic() + CODE_SECONDS,
            )
        return _redirect(
            redirect_uri,
            {
                "code": code,
                "state": query["state"],
                "session_state": secrets.token_hex(8),
            },
        )

    def redeem(self, tenant: str, form: dict[str, str]) -> TokenReply:
        """The ``authorization_code`` grant at the token endpoint."""
        if tenant != self.identity.tenant:
            return _error(400, "invalid_tenant", "AADSTS90002: Tenant not found.")
        app = self.identity.apps.get(form.get("client_id", ""))
        if app is None:
            return _error(400, "unauthorized_client", "AADSTS700016: Unknown app.")
        problem = self.identity._authenticate(app, form)
        if problem is not None:
            return _error(401, "invalid_client", problem)
        with self._lock:
            found = self.codes.get(form.get("code", ""))
            if found is None or found.used or found.expires < time.monotonic():
                return _error(
                    400,
                    "invalid_grant",
                    "AADSTS70008: The code has expired or was used.",
                )
            found.used = True  # a code is redeemed once, even if the rest fails
        if found.client_id != app.client_id or found.redirect_uri != form.get(
            "redirect_uri"
        ):
            return _error(
                400,
                "invalid_grant",
                "AADSTS70000: The code was issued to another app or reply URL.",
            )
        verifier = form.get("code_verifier", "")
        if _s256(verifier) != found.challenge:
            return _error(
                400,
                "invalid_grant",
                "AADSTS501481: The Code_Verifier does not match the code_challenge.",
            )
        user = self.directory().user(found.user_id)
        return TokenReply(200, self._tokens(app.client_id, found.nonce, user))

    def _tokens(
        self, client_id: str, nonce: str, user: dict[str, Any]
    ) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": client_id,
            "sub": hashlib.sha256(f"{user['id']}:{client_id}".encode()).hexdigest()[
                :43
            ],
            "oid": user["id"],
            "tid": self.identity.tenant,
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "nonce": nonce,
            "name": user.get("displayName", ""),
            "preferred_username": user["userPrincipalName"],
            "ver": "2.0",
        }
        if user.get("employeeId"):
            claims["employeeId"] = user["employeeId"]
        claims.update(self.extra_claims)
        id_token = jwt.encode(
            claims, self.key, algorithm="RS256", headers={"kid": self.kid}
        )
        client_info = (
            base64.urlsafe_b64encode(
                json.dumps({"uid": user["id"], "utid": self.identity.tenant}).encode()
            )
            .decode()
            .rstrip("=")
        )
        return {
            "token_type": "Bearer",
            "scope": "openid profile offline_access",
            "expires_in": 3600,
            "access_token": secrets.token_urlsafe(32),
            "id_token": id_token,
            "client_info": client_info,
        }


def _check_request(query: dict[str, str]) -> str | None:
    if query.get("response_type") != "code":
        return "AADSTS70005: response_type 'code' is required."
    if not query.get("state") or not query.get("nonce"):
        return "AADSTS900144: state and nonce are required."
    if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
        return "AADSTS501491: an S256 code_challenge is required (PKCE)."
    if "openid" not in query.get("scope", "").split():
        return "AADSTS900144: the scope must include openid."
    return None


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _b64int(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _redirect(uri: str, params: dict[str, str]) -> Reply:
    return Reply(302, None, {"Location": f"{uri}?{urlencode(params)}"})


def _page(status: int, message: str) -> Reply:
    return Reply(status, {"error": message})


def _error(status: int, code: str, description: str) -> TokenReply:
    return TokenReply(status, {"error": code, "error_description": description})
