"""A small HashiCorp Vault KV version 2 compatible server, on loopback.

No Vault binary can be installed here (Debian ships none; PyPI has only
clients), so the optional ``VaultKvSecretStore`` is tested against this:
the KV v2 routes hvac uses, with Vault's JSON shapes and status codes::

    POST/PUT /v1/<mount>/data/<path>      write a version: {"data": {"version": n}}
    GET      /v1/<mount>/data/<path>      the latest: {"data": {"data", "metadata"}}
    DELETE   /v1/<mount>/metadata/<path>  every version and the metadata: 204

A wrong ``X-Vault-Token`` answers 403 ``permission denied``; an unknown path
404 with ``{"errors": []}``. ``writes`` keeps the paths written, ``live()``
what is still stored: tests check that a shown secret is really gone.

Fixture: ``vault_kv`` (plain HTTP on 127.0.0.1, which the store allows for
loopback only).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

TOKEN = "s.dummy-vault-token-8-33"  # dummy (8.33)


@dataclass
class KvStore:
    mount: str = "secret"
    versions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    writes: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def live(self) -> dict[str, dict[str, Any]]:
        with self.lock:
            return {p: v[-1] for p, v in self.versions.items() if v}


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: a request line would hold no secret, but keep logs clean

    def do_GET(self) -> None:
        path = self._path("data")
        if path is None:
            return
        with self.server.kv.lock:
            versions = self.server.kv.versions.get(path)
        if not versions:
            self._send(404, {"errors": []})
            return
        latest = versions[-1]
        self._send(
            200,
            {
                "data": {
                    "data": latest["data"],
                    "metadata": {
                        "created_time": latest["created_time"],
                        "deletion_time": "",
                        "destroyed": False,
                        "version": len(versions),
                    },
                }
            },
        )

    def do_POST(self) -> None:
        path = self._path("data")
        if path is None:
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if not isinstance(body.get("data"), dict):
            self._send(400, {"errors": ["no data provided"]})
            return
        now = datetime.now(UTC).isoformat()
        with self.server.kv.lock:
            versions = self.server.kv.versions.setdefault(path, [])
            versions.append({"data": body["data"], "created_time": now})
            self.server.kv.writes.append(path)
            version = len(versions)
        self._send(200, {"data": {"created_time": now, "version": version}})

    do_PUT = do_POST

    def do_DELETE(self) -> None:
        path = self._path("metadata")
        if path is None:
            return
        with self.server.kv.lock:
            self.server.kv.versions.pop(path, None)
        self._send(204, None)

    def _path(self, kind: str) -> str | None:
        if self.headers.get("X-Vault-Token") != TOKEN:
            self._send(403, {"errors": ["permission denied"]})
            return None
        prefix = f"/v1/{self.server.kv.mount}/{kind}/"
        route = self.path.split("?", 1)[0]
        if not route.startswith(prefix):
            self._send(404, {"errors": []})
            return None
        return route[len(prefix) :]

    def _send(self, status: int, body: dict[str, Any] | None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, kv: KvStore) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.kv = kv


@dataclass
class VaultKv:
    url: str
    token: str
    store: KvStore


@pytest.fixture
def vault_kv() -> Iterator[VaultKv]:
    kv = KvStore()
    server = _Server(kv)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield VaultKv(f"http://127.0.0.1:{server.server_address[1]}", TOKEN, kv)
    finally:
        server.shutdown()
        server.server_close()
