"""An HTTPS reverse proxy in front of one scim2-server tenant that answers
the way real SaaS providers deviate from RFC 7644, records what it was sent,
and can take the provider "down".

The proxy serves ``https://127.0.0.1:PORT/scim/v2`` with a certificate from
the test PKI, so the connector verifies TLS as in production (8.24).
Deviations are attributes, all off by default; set them in a test.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests

from tools.tls import Pki

PREFIX = "/scim/v2"


@dataclass(frozen=True)
class SeenRequest:
    """A request the proxy received. The token is not kept: ``bearer`` says
    whether ``Authorization: Bearer <the tenant's token>`` came with it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    bearer: bool


@dataclass
class Deviations:
    """How the proxy bends the provider's answers."""

    patch_status: int | None = None  # 200: answer PATCH with the resource
    plain_json: bool = False  # Content-Type application/json
    drop_totals: bool = False  # no totalResults / itemsPerPage / startIndex
    drop_empty_resources: bool = False  # no "Resources" when nothing matched
    string_booleans: bool = False  # true -> "True", false -> "False"
    shout_user_names: bool = False  # userName in upper case
    ignore_filter: bool = False  # list everything whatever the filter
    no_patch: bool = False  # announce no PATCH, answer 501 to it
    user_groups: bool = False  # fill the User's read-only "groups"
    # Answer every request with this status, headers and JSON body instead.
    fail_with: tuple[int, dict[str, str], dict[str, Any] | None] | None = None
    fail_methods: frozenset[str] | None = None  # only these methods; None: all


class VendorProxy:
    """``base_url`` reaches the tenant at ``upstream`` through the deviations."""

    def __init__(self, upstream: str, token: str, pki: Pki) -> None:
        self.upstream = upstream.rstrip("/")
        self.token = token
        self.deviations = Deviations()
        self.seen: list[SeenRequest] = []
        # Test hooks: run before a request is forwarded; rewrite an answer.
        self.before_forward: Callable[[str, str], None] | None = None
        self.rewrite: Callable[[str, str, Any], Any] | None = None
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(pki.server_cert, pki.server_key)
        self._session = requests.Session()
        self._session.trust_env = False
        self._lock = threading.Lock()
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._server: ThreadingHTTPServer | None = None
        self.up()

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}{PREFIX}"

    def up(self) -> None:
        """Listen (again) on the same port."""
        if self._server is not None:
            return
        server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
        server.daemon_threads = True
        server.socket = self._context.wrap_socket(server.socket, server_side=True)
        self._server = server
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def down(self) -> None:
        """Refuse connections, as a provider that is off the network."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def close(self) -> None:
        self.down()
        self._session.close()

    def requests_for(self, method: str, path_part: str = "") -> list[SeenRequest]:
        with self._lock:
            return [r for r in self.seen if r.method == method and path_part in r.path]

    # -- serving -------------------------------------------------------------

    def serve(
        self, method: str, target: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        split = urlsplit(target)
        path = split.path.removeprefix(PREFIX)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        body = json.loads(raw) if raw else None
        kept = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        bearer = headers.get("Authorization") == f"Bearer {self.token}"
        with self._lock:
            self.seen.append(SeenRequest(method, path, query, kept, body, bearer))
        d = self.deviations
        if self.before_forward is not None:
            self.before_forward(method, path)
        if d.fail_with is not None and method in (d.fail_methods or {method}):
            status, extra, error = d.fail_with
            return status, extra, json.dumps(error).encode() if error else b""
        if d.no_patch and method == "PATCH" and path.startswith("/Users"):
            return (
                501,
                {"Content-Type": "application/scim+json"},
                _error(501, "PATCH is not implemented"),
            )
        if d.ignore_filter:
            query.pop("filter", None)
        status, out_headers, data = self._forward(method, path, query, headers, raw)
        if method == "PATCH" and d.patch_status == 200 and status == 204:
            status, _, data = self._forward("GET", path, {}, headers, b"")
        data = self._bend(path, data)
        if self.rewrite is not None:
            data = self.rewrite(method, path, data)
        content = b"" if data is None else json.dumps(data).encode()
        if d.plain_json:
            out_headers["Content-Type"] = "application/json"
        return status, out_headers, content

    def _forward(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        raw: bytes,
    ) -> tuple[int, dict[str, str], Any]:
        url = self.upstream + path + (f"?{urlencode(query)}" if query else "")
        passed = {k: v for k, v in headers.items() if k.lower() in _PASSED}
        response = self._session.request(
            method, url, data=raw or None, headers=passed, timeout=30
        )
        out = {
            k: v
            for k, v in response.headers.items()
            if k.lower() in ("etag", "content-type", "location", "retry-after")
        }
        data = response.json() if response.content else None
        return response.status_code, out, data

    def _bend(self, path: str, data: Any) -> Any:
        d = self.deviations
        if not isinstance(data, dict):
            return data
        if path == "/ServiceProviderConfig" and d.no_patch:
            data["patch"] = {"supported": False}
        if "Resources" in data:
            if d.drop_totals:
                for key in ("totalResults", "itemsPerPage", "startIndex"):
                    data.pop(key, None)
            if d.drop_empty_resources and not data["Resources"]:
                data.pop("Resources")
            for resource in data.get("Resources", []):
                self._bend_resource(resource)
        else:
            self._bend_resource(data)
        return _stringify(data) if d.string_booleans else data

    def _bend_resource(self, resource: dict[str, Any]) -> None:
        if "userName" in resource and self.deviations.shout_user_names:
            resource["userName"] = str(resource["userName"]).upper()
        if (
            self.deviations.user_groups
            and resource.get("userName")
            and resource.get("id")
        ):
            groups = self._forward(
                "GET",
                "/Groups",
                {
                    "filter": f'members[value eq "{resource["id"]}"]',
                    "attributes": "displayName",
                },
                {"Authorization": f"Bearer {self.token}"},
                b"",
            )[2]
            resource["groups"] = [
                {"value": g["id"], "display": g["displayName"]}
                for g in groups.get("Resources", [])
            ]


_PASSED = ("authorization", "content-type", "if-match", "if-none-match", "accept")


def _stringify(value: Any) -> Any:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, dict):
        return {k: _stringify(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stringify(v) for v in value]
    return value


def _error(status: int, detail: str) -> bytes:
    schemas = ["urn:ietf:params:scim:api:messages:2.0:Error"]
    return json.dumps(
        {"schemas": schemas, "status": str(status), "detail": detail}
    ).encode()


def _handler(proxy: VendorProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            status, headers, content = proxy.serve(
                self.command, self.path, dict(self.headers.items()), raw
            )
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            with contextlib.suppress(OSError):
                self.wfile.write(content)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler
