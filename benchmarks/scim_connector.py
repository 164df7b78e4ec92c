"""The SCIM connector against scim2-server on loopback, measured against the
bare HTTP floor: the same requests sent directly with ``requests``.

1. create + read-back: ``create_account`` then ``get_account`` (the worker's
   verification) per user. Floor: POST /Users, GET /Users/{id}.
2. deactivate + read-back: ``set_enabled(False)`` then ``get_account``.
   Floor: PATCH active=false, GET /Users/{id}.
3. listing 500 users with ``iter_accounts`` (100 per page). Floor: the same
   pages with GET /Users?startIndex&count.

``python -m benchmarks.scim_connector`` prints a Markdown section. The
connector does more than the floor on purpose: it looks the userName up
before creating (idempotency), reads the user before writing (If-Match),
and reads memberships from the groups; the ratios show what that costs.
"""

from __future__ import annotations

import shutil
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import requests

from benchmarks.common import write_section
from connectors.base import AccountRef, AccountSpec, Secret
from connectors.scim import ScimConnector, ScimSettings

N = 100
LISTED = 500
PAGE = 100
TOKEN = "bench-" + uuid.uuid4().hex  # dummy credential (8.33)
USER = "urn:ietf:params:scim:schemas:core:2.0:User"


@contextmanager
def scim2_server() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    beside = Path(sys.executable).with_name("scim2-server")
    command = str(beside) if beside.exists() else shutil.which("scim2-server")
    process = subprocess.Popen(
        [
            str(command),
            "--port",
            str(port),
            "--bearer-token",
            TOKEN,
            "--dynamic-tenants",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    root = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                requests.get(f"{root}/probe/v2/ServiceProviderConfig", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        yield root
    finally:
        process.terminate()
        process.wait(timeout=10)


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


def run() -> str:
    with scim2_server() as root:
        tenant = f"{root}/bench{uuid.uuid4().hex[:8]}/v2"
        session = requests.Session()
        session.trust_env = False
        headers = {"Authorization": f"Bearer {TOKEN}"}
        settings = ScimSettings("bench", tenant, Secret(TOKEN), page_size=PAGE)
        connector = ScimConnector(settings, session)
        connector.discover()
        session.post(
            f"{tenant}/Groups", json={"displayName": "Everyone"}, headers=headers
        )
        password = Secret("Correct-Horse-42")
        refs: list[AccountRef] = []

        def create(n: int) -> None:
            refs.append(connector.create_account(person(n), password))
            connector.get_account(refs[-1])

        def floor_create(n: int) -> str:
            body = {"schemas": [USER], "userName": f"floor{n}", "active": True}
            made = session.post(f"{tenant}/Users", json=body, headers=headers).json()
            session.get(f"{tenant}/Users/{made['id']}", headers=headers)
            return str(made["id"])

        create_ms = [timed(lambda n=n: create(n)) for n in range(N)]
        floor_ids: list[str] = []
        floor_create_ms = [
            timed(lambda n=n: floor_ids.append(floor_create(n))) for n in range(N)
        ]

        def deactivate(ref: AccountRef) -> None:
            connector.set_enabled(ref, False)
            connector.get_account(ref)

        def floor_deactivate(user_id: str) -> None:
            patch = {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "active", "value": False}],
            }
            session.patch(f"{tenant}/Users/{user_id}", json=patch, headers=headers)
            session.get(f"{tenant}/Users/{user_id}", headers=headers)

        off_ms = [timed(lambda r=r: deactivate(r)) for r in refs]
        floor_off_ms = [timed(lambda u=u: floor_deactivate(u)) for u in floor_ids]

        for n in range(N * 2, N * 2 + LISTED - 2 * N):
            session.post(
                f"{tenant}/Users",
                json={"schemas": [USER], "userName": f"fill{n}"},
                headers=headers,
            )

        def listing() -> int:
            return sum(1 for _ in connector.iter_accounts(page_size=PAGE))

        def floor_listing() -> int:
            seen, start = 0, 1
            while True:
                page = session.get(
                    f"{tenant}/Users",
                    params={"startIndex": start, "count": PAGE},
                    headers=headers,
                ).json()
                seen += len(page.get("Resources", []))
                start += PAGE
                if start > page["totalResults"]:
                    return seen

        assert listing() == floor_listing() == LISTED
        list_ms = [timed(listing) for _ in range(10)]
        floor_list_ms = [timed(floor_listing) for _ in range(10)]
        connector.close()

    def row(name: str, ours: list[float], floor: list[float]) -> str:
        ratio = statistics.median(ours) / statistics.median(floor)
        return f"| {name} | {summary(ours)} | {summary(floor)} | {ratio:.2f} |"

    section = "\n".join(
        [
            "## SCIM connector on scim2-server (loopback, HTTP/1.0)",
            "",
            "| operation | connector median / p99 ms | floor median / p99 ms | ratio |",
            "|---|---|---|---|",
            row(f"create + read-back (n={N})", create_ms, floor_create_ms),
            row(f"deactivate + read-back (n={N})", off_ms, floor_off_ms),
            row(
                f"list {LISTED} users, {PAGE} a page (10 runs)", list_ms, floor_list_ms
            ),
        ]
    )
    write_section("scim_connector", section)
    return section


if __name__ == "__main__":
    print(run())
