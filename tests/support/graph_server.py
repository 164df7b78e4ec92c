"""A Microsoft Graph-compatible test server over HTTPS on 127.0.0.1.

It serves OIDC discovery and the token endpoint (``graph_identity``) and the
Graph subset the Entra connector uses (``graph_api``) from an in-memory
directory (``graph_state``), with a certificate from the test PKI, so the
real msal library runs its real flow and clients verify TLS (8.24).
Latency, throttling and failures are injected through ``server.faults``;
``server.stats`` counts requests, token requests and batches.

Fixtures: ``graph_server`` (one server per session, reset for each test),
``entra_settings`` and ``entra_connector`` (a connector on that server).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from connectors.base import Secret
from connectors.entra import EntraCertificate, EntraConnector, EntraSettings
from tests.support.graph_api import GraphApi
from tests.support.graph_faults import Faults, Stats
from tests.support.graph_identity import Identity
from tests.support.graph_query import Reply
from tests.support.graph_sign_in import SignIns
from tests.support.graph_state import GraphDirectory
from tools.tls import Pki, ensure_test_pki

TENANT = "0f1e2d3c-0000-4000-8000-00000000a1b2"  # dummies (8.33)
CLIENT_ID = "11111111-2222-4333-8444-555555555555"
CLIENT_SECRET = "dummy-app-secret-for-tests-only"
DOMAIN = "example.test"
_DISCOVERY = re.compile(r"/([^/]+)/v2\.0/\.well-known/openid-configuration")
_TOKEN = re.compile(r"/([^/]+)/oauth2/v2\.0/token")
_AUTHORIZE = re.compile(r"/([^/]+)/oauth2/v2\.0/authorize")
_KEYS = re.compile(r"/([^/]+)/discovery/v2\.0/keys")


class GraphServer:
    """The server, its directory, faults and counters."""

    def __init__(self, pki: Pki) -> None:
        self.pki = pki
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(pki.server_cert, pki.server_key)
        self._httpd = _Httpd(("127.0.0.1", 0), _Handler, context, self)
        self.port = self._httpd.server_address[1]
        self.base_url = f"https://127.0.0.1:{self.port}"
        self.graph_url = f"{self.base_url}/v1.0"
        self.faults = Faults()
        self.stats = Stats()
        self.directory = GraphDirectory()
        self.identity = Identity(self.base_url, TENANT)
        # Users signing in (OpenID Connect auth code + PKCE): the console's SSO.
        self.sign_ins = SignIns(self.identity, lambda: self.directory)
        self.api = GraphApi(self.directory, self.graph_url, self.faults, self.stats)
        self._thread: threading.Thread | None = None
        self.reset()

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="graph-server", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def reset(self) -> None:
        """A fresh tenant: no objects, faults, counters or tokens; the test app
        registered with its secret."""
        self.directory = GraphDirectory(domains={DOMAIN})
        self.api = GraphApi(self.directory, self.graph_url, self.faults, self.stats)
        self.faults.clear()
        self.stats.reset()
        self.identity.apps.clear()
        self.identity.revoke_all()
        self.identity.token_lifetime = 3600
        self.identity.register(CLIENT_ID, secret=CLIENT_SECRET)
        self.sign_ins.reset()

    def session(self) -> requests.Session:
        """A session that trusts the test CA. ``trust_env=False``: the
        machine's REQUESTS_CA_BUNDLE would otherwise override ``verify``."""
        session = requests.Session()
        session.verify = str(self.pki.ca_cert)
        session.trust_env = False
        return session

    def settings(self, **overrides: Any) -> EntraSettings:
        values: dict[str, Any] = {
            "system_id": "entra",
            "tenant_id": TENANT,
            "client_id": CLIENT_ID,
            "client_secret": Secret(CLIENT_SECRET),
            "authority_host": self.base_url,
            "graph_url": self.graph_url,
            "domain": DOMAIN,
            "usage_location": "JP",
            "max_inline_wait": 1.5,
        }
        values.update(overrides)
        return EntraSettings(**values)

    def connector(self, **overrides: Any) -> EntraConnector:
        return EntraConnector(self.settings(**overrides), self.session())

    def dispatch(self, method: str, target: str, raw: bytes, auth: str | None) -> Reply:
        split = urlsplit(target)
        path, query = split.path, dict(parse_qsl(split.query, keep_blank_values=True))
        if method == "GET" and (match := _DISCOVERY.fullmatch(path)):
            with self.stats.lock:
                self.stats.discovery_requests += 1
            answer = self.identity.discovery(match.group(1))
            return Reply(answer.status, answer.body)
        if method == "GET" and (match := _AUTHORIZE.fullmatch(path)):
            return self.sign_ins.authorize(match.group(1), query)
        if method == "GET" and (match := _KEYS.fullmatch(path)):
            return Reply(200, self.sign_ins.jwks())
        if method == "POST" and (match := _TOKEN.fullmatch(path)):
            with self.stats.lock:
                self.stats.token_requests += 1
            form = dict(parse_qsl(raw.decode(), keep_blank_values=True))
            if form.get("grant_type") == "authorization_code":
                answer = self.sign_ins.redeem(match.group(1), form)
            else:
                answer = self.identity.token(match.group(1), form)
            return Reply(answer.status, answer.body)
        if not path.startswith("/v1.0/"):
            return Reply(404, {"error": {"code": "NotFound", "message": path}})
        problem = self.identity.check_bearer(auth)
        if problem is not None:
            return Reply(401, _graph_error("InvalidAuthenticationToken", problem))
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return Reply(400, _graph_error("BadRequest", "Unable to read JSON."))
        return self.api.handle(method, path.removeprefix("/v1.0"), query, body)


class _Httpd(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        context: ssl.SSLContext,
        app: GraphServer,
    ) -> None:
        super().__init__(address, handler)
        self.context = context
        self.app = app

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake happens here, in the connection's own thread.
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            super().finish_request(tls, client_address)
        finally:
            tls.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30
    # Headers and body go out in two writes; without TCP_NODELAY the second
    # waits for the client's delayed ACK (~40 ms per response).
    disable_nagle_algorithm = True
    server: _Httpd

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        app = self.server.app
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        with app.stats.lock:
            app.stats.requests[(method, urlsplit(self.path).path)] += 1
        app.faults.delay()
        reply = app.dispatch(method, self.path, raw, self.headers.get("Authorization"))
        payload = json.dumps(reply.body).encode() if reply.body is not None else b""
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if payload:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: pytest shows failures, not every request."""


def _graph_error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


@dataclass(frozen=True)
class AppCertificate:
    """A certificate credential for the test app (RSA, self-signed)."""

    key_file: Path
    cert_file: Path
    thumbprint: str  # SHA-1, hex, as the Entra portal shows it

    def credential(self, *, send_certificate: bool = False) -> EntraCertificate:
        return EntraCertificate(
            str(self.key_file),
            self.thumbprint,
            str(self.cert_file) if send_certificate else None,
        )


def app_certificate(directory: Path) -> AppCertificate:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "iam-test-app")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    key_file, cert_file = directory / "app-key.pem", directory / "app-cert.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    sha1 = cert.fingerprint(hashes.SHA1()).hex()  # noqa: S303 - x5t is SHA-1
    return AppCertificate(key_file, cert_file, sha1)


@pytest.fixture(scope="session")
def graph_server_session(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[GraphServer]:
    server = GraphServer(ensure_test_pki(tmp_path_factory.mktemp("graph-pki")))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def graph_server(graph_server_session: GraphServer) -> GraphServer:
    """The Graph test server, reset to an empty tenant for this test."""
    graph_server_session.reset()
    return graph_server_session


@pytest.fixture
def entra_settings(graph_server: GraphServer) -> EntraSettings:
    return graph_server.settings()


@pytest.fixture
def entra_connector(
    graph_server: GraphServer, entra_settings: EntraSettings
) -> Iterator[EntraConnector]:
    connector = EntraConnector(entra_settings, graph_server.session())
    yield connector
    connector.close()
