"""The Entra connector (real msal, HTTPS) against the Graph test server, with
0 and 50 ms of injected latency per HTTP request, measured against the bare
HTTP floor: the same requests sent directly with ``requests``.

1. token: a new connector's first token (msal reads the OIDC discovery
   document, then posts to the token endpoint). Floor: one token POST.
   Also a cached token (msal's cache; no request at all).
2. create + read-back: ``create_account`` (which first looks the UPN up, for
   idempotency) then ``get_account`` (user and groups in one ``$batch``).
   Floor: POST /users, GET /users/{id}.
3. 20 requests in one ``$batch`` (``disable_many`` of 20 users). Floor: the
   same ``$batch`` POST; and, for contrast, 20 single PATCHes.

``python -m benchmarks.entra_connector`` prints a Markdown section.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

from benchmarks.common import write_section
from connectors.base import AccountRef, AccountSpec, Secret
from tests.support.graph_server import CLIENT_ID, CLIENT_SECRET, GraphServer
from tools.tls import ensure_test_pki

N = 30
BATCHES = 10
PASSWORD = Secret("Correct-Horse-42")  # dummy (8.33)


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def summary(values: Sequence[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return f"{statistics.median(ordered):.1f} / {p99:.1f}"


def person(n: int) -> AccountSpec:
    return AccountSpec(
        f"bench{n:04d}", f"B{n:04d}", "Taro", f"Bench{n}", f"b{n}@example.test"
    )


class Floor:
    """The same Graph requests, sent directly."""

    def __init__(self, server: GraphServer) -> None:
        self.server = server
        self.http = server.session()
        self.token = ""

    def get_token(self) -> None:
        url = f"{self.server.identity.token_endpoint}"
        form = {
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "scope": "https://graph.microsoft.com/.default",
        }
        self.token = self.http.post(url, data=form, timeout=30).json()["access_token"]

    def call(self, method: str, path: str, body: Any = None) -> Any:
        answer = self.http.request(
            method,
            f"{self.server.graph_url}{path}",
            json=body,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )
        return answer.json() if answer.content else None

    def create(self, n: int) -> str:
        body = {
            "accountEnabled": True,
            "displayName": f"Floor {n}",
            "mailNickname": f"floor{n}",
            "userPrincipalName": f"floor{n}@example.test",
            "passwordProfile": {"password": PASSWORD.reveal()},
        }
        user_id = str(self.call("POST", "/users", body)["id"])
        self.call("GET", f"/users/{user_id}")
        return user_id

    def batch(self, ids: Sequence[str]) -> None:
        items = [
            {
                "id": str(n),
                "method": "PATCH",
                "url": f"/users/{i}",
                "body": {"accountEnabled": False},
                "headers": {"Content-Type": "application/json"},
            }
            for n, i in enumerate(ids)
        ]
        self.call("POST", "/$batch", {"requests": items})


def measure(server: GraphServer, latency_ms: int) -> dict[str, list[float]]:
    server.reset()
    server.faults.latency_ms = latency_ms
    floor = Floor(server)
    results: dict[str, list[float]] = {k: [] for k in ("token", "cached", "ftoken")}
    for _ in range(10):
        connector = server.connector()
        results["token"].append(timed(connector.graph.tokens.token))
        results["cached"].append(timed(connector.graph.tokens.token))
        connector.close()
        results["ftoken"].append(timed(floor.get_token))
    connector = server.connector()
    connector.graph.tokens.token()  # measured above
    refs: list[AccountRef] = []

    def create(n: int) -> None:
        refs.append(connector.create_account(person(n), PASSWORD))
        connector.get_account(refs[-1])

    results["create"] = [timed(lambda n=n: create(n)) for n in range(N)]
    ids = [floor.create(n) for n in range(N)]  # warm-up and the users to patch
    results["fcreate"] = [timed(lambda n=n: floor.create(1000 + n)) for n in range(N)]
    twenty = refs[:20]
    results["batch"] = [
        timed(lambda: connector.disable_many(twenty)) for _ in range(BATCHES)
    ]
    results["fbatch"] = [timed(lambda: floor.batch(ids[:20])) for _ in range(BATCHES)]
    results["single"] = [
        timed(lambda: [connector.set_enabled(r, False) for r in twenty])
        for _ in range(BATCHES)
    ]
    connector.close()
    floor.http.close()
    return results


def run() -> str:
    with tempfile.TemporaryDirectory() as pki_dir:
        server = GraphServer(ensure_test_pki(pki_dir))
        server.start()
        try:
            runs = {latency: measure(server, latency) for latency in (0, 50)}
        finally:
            server.stop()

    def row(name: str, ours: list[float], floor: list[float]) -> str:
        ratio = statistics.median(ours) / statistics.median(floor)
        return f"| {name} | {summary(ours)} | {summary(floor)} | {ratio:.2f} |"

    lines = [
        "## Entra connector on the Graph test server (HTTPS, real msal)",
        "",
        "| latency | operation | connector median / p99 ms | floor median / p99 ms"
        " | ratio |",
        "|---|---|---|---|---|",
    ]
    for latency, r in runs.items():
        lines += [
            f"| {latency} ms |" + row(*spec)[1:]
            for spec in (
                ("first token (discovery + token, n=10)", r["token"], r["ftoken"]),
                ("cached token (n=10)", r["cached"], r["ftoken"]),
                (f"create + read-back (n={N})", r["create"], r["fcreate"]),
                (f"20 in one $batch (n={BATCHES})", r["batch"], r["fbatch"]),
                (f"20 single PATCHes (n={BATCHES})", r["single"], r["fbatch"]),
            )
        ]
    section = "\n".join(lines)
    write_section("entra_connector", section)
    return section


if __name__ == "__main__":
    print(run())
