"""One termination across three systems at once: the real Samba AD, Entra ID
(the Graph test server through real msal, 50 ms injected latency per HTTP
request) and a SaaS tool over SCIM (scim2-server).

Measured from the HR event's submission until every system's disable is
verified by read-back, and until every leaver step is. The floor is the
slowest single system's bare disable call (here Graph's PATCH with its 50 ms),
sent directly in the same run.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import text

from benchmarks.common import (
    PG_URL,
    directory,
    pg_schema,
    summary_ms,
    wait_for,
    write_section,
)
from benchmarks.scim_connector import TOKEN, scim2_server
from connectors.active_directory import (
    ActiveDirectoryConnector,
    ADSettings,
)
from connectors.base import Connector, Secret
from connectors.entra import EntraConnector
from connectors.scim import ScimConnector
from connectors.scim_settings import ScimSettings
from iam_service.bootstrap import Container, bootstrap
from iam_service.domain.hr import HrEvent
from iam_service.settings import Settings
from jobs.listener import start_listener
from jobs.worker import ConnectorPool, Wakeup, Worker, WorkerConfig
from tests.support.graph_server import CLIENT_ID, CLIENT_SECRET, GraphServer
from tests.support.policies import ENTRA_GROUP, SAAS_GROUP, three_system_policy
from tests.support.scim_server import plain_session
from tests.support.service import approve_systems
from tools.tls import ensure_test_pki

PEOPLE = 40
LATENCY_MS = 50


def _factory(
    ad: ADSettings, graph: GraphServer, saas: ScimSettings
) -> Callable[[str], Connector]:
    def build(key: str) -> Connector:
        if key == "ad":
            return ActiveDirectoryConnector(ad)
        if key == "entra":
            return EntraConnector(graph.settings(), graph.session())
        return ScimConnector(saas, plain_session())

    return build


def _done(c: Container, person: str, kind: str | None) -> Any:
    """When the person's leaver operations (of ``kind``) all succeeded."""
    query = (
        "SELECT count(*), max(o.finished_at), bool_and(o.status = 'succeeded') "
        "FROM operations o JOIN persons p ON p.id = o.person_id "
        "WHERE p.employee_id = :e AND o.cause = :c"
    )
    args = {"e": person, "c": f"hr:leave-{person}"}
    if kind:
        query += " AND o.kind = :k"
        args["k"] = kind
    with c.engine.connect() as connection:
        count, finished, ok = connection.execute(text(query), args).one()
    return finished if count and ok else None


def _service(
    schema: str, ad: ADSettings, graph: GraphServer, saas: ScimSettings, policy: Path
) -> Container:
    settings = Settings(
        database_url=PG_URL,
        database_schema=schema,
        demo_mode=True,
        policy_dir=policy,
        scheduler_enabled=False,
    )
    factory = _factory(ad, graph, saas)
    capabilities = {
        k: frozenset(factory(k).capabilities) for k in ("ad", "entra", "saas")
    }
    container = bootstrap(
        settings, connector_factory=factory, capabilities=capabilities
    )
    approve_systems(container, ["ad", "entra", "saas"])
    return container


def _measure(c: Container, people: list[str]) -> tuple[list[float], list[float]]:
    three, every = [], []
    for person in people:
        started = time.perf_counter()
        c.hr_intake.submit(
            HrEvent.model_validate(
                {
                    "event_id": f"leave-{person}",
                    "type": "terminate",
                    "employee": {"employee_id": person},
                }
            ),
            actor="bench",
        )
        wait_for(
            lambda p=person: _done(c, p, "disable_account") is not None,
            60,
            "three disables",
            interval=0.002,
        )
        three.append(time.perf_counter() - started)
        wait_for(
            lambda p=person: _done(c, p, None) is not None,
            60,
            "every step",
            interval=0.002,
        )
        every.append(time.perf_counter() - started)
    return three, every


def _floor(graph: GraphServer, ids: list[str]) -> list[float]:
    """Graph's bare disable (PATCH accountEnabled=false), the slowest system."""
    http = graph.session()
    form = {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "scope": "https://graph.microsoft.com/.default",
    }
    token = http.post(graph.identity.token_endpoint, data=form, timeout=30).json()[
        "access_token"
    ]
    samples = []
    for user_id in ids:
        started = time.perf_counter()
        http.patch(
            f"{graph.graph_url}/users/{user_id}",
            json={"accountEnabled": False},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ).raise_for_status()
        samples.append(time.perf_counter() - started)
    return samples


def run() -> str:
    with (
        directory("fanout") as d,
        pg_schema() as schema,
        tempfile.TemporaryDirectory() as tmp,
        scim2_server() as scim_root,
    ):
        graph = GraphServer(ensure_test_pki(Path(tmp) / "pki"))
        graph.start()
        graph.directory.add_group(ENTRA_GROUP)
        saas = ScimSettings(
            system_id="saas",
            base_url=f"{scim_root}/bench/v2",
            token=Secret(TOKEN),
            username_format="{username}@example.test",
        )
        requests.post(
            f"{saas.base_url}/Groups",
            json={
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": SAAS_GROUP,
            },
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=10,
        ).raise_for_status()
        ad = ADSettings(
            system_id="ad",
            url=d.dc.url,
            bind_user=d.dc.admin_user,
            bind_password=Secret(d.dc.admin_password),
            base_dn=d.dc.base_dn,
            users_ou=d.people,
            leavers_ou=d.leavers,
            ca_file=str(d.dc.ca_file),
            upn_suffix=d.dc.realm.lower(),
        )
        container = _service(
            schema, ad, graph, saas, three_system_policy(Path(tmp) / "policies")
        )
        stop, wakeup = threading.Event(), Wakeup()
        start_listener(PG_URL, wakeup, stop)
        worker = Worker(
            container.queue,
            ConnectorPool(container.connector_factory),
            WorkerConfig(threads=4, poll_seconds=0.5),
            wakeup=wakeup,
        )
        thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
        thread.start()
        people = [f"FO{n:03d}" for n in range(PEOPLE)]
        try:
            for person in people:
                container.hr_intake.submit(
                    HrEvent.model_validate(
                        {
                            "event_id": f"hire-{person}",
                            "type": "hire",
                            "employee": {
                                "employee_id": person,
                                "given_name": "Fan",
                                "family_name": f"Out{person}",
                                "email": f"{person.lower()}@example.test",
                                "department": "SALES",
                                "title": "Staff",
                            },
                        }
                    ),
                    actor="bench",
                )
            wait_for(
                lambda: not container.store_counts()["operations"].get("pending"),
                600,
                "the hires",
                interval=0.2,
            )
            graph.faults.latency_ms = LATENCY_MS
            three, every = _measure(container, people)
            floor = _floor(graph, [_floor_user(graph, n) for n in range(PEOPLE)])
        finally:
            stop.set()
            thread.join(timeout=60)
            graph.stop()
            container.close()
    section = _report(summary_ms(three), summary_ms(every), summary_ms(floor))
    write_section("fanout", section)
    return section


def _floor_user(graph: GraphServer, n: int) -> str:
    user = graph.directory.create_user(
        {
            "accountEnabled": True,
            "displayName": f"Floor {n}",
            "mailNickname": f"floor{n}",
            "userPrincipalName": f"floor{n}@example.test",
            "passwordProfile": {"password": "Floor-Passw0rd-x!"},
        }
    )
    return str(user["id"])


REPORT = """
## One termination across AD, Entra ID and SaaS (issue 2/6)

Samba AD, the Graph test server through real msal with {latency} ms injected
per HTTP request, and scim2-server; PostgreSQL store; one worker with 4
threads woken by LISTEN/NOTIFY. From the HR event's submission, {people}
people, in ms. Floor: the slowest single system's bare disable call (Graph
`PATCH /users/{{id}}` with its latency): median {floor_median:.0f}, p99
{floor_p99:.0f}.

| until | median | p99 | ratio median | ratio p99 |
|---|---|---|---|---|
{rows}

Every leaver step means: AD disabled, password scrambled, groups removed and
moved to the leavers' OU; Entra disabled, sessions revoked, groups and
licences removed; SaaS deactivated and out of its groups.

Target: p99 under 1.5 s until all three are verified disabled.
"""


def _report(
    three: dict[str, float], every: dict[str, float], floor: dict[str, float]
) -> str:
    def row(label: str, ours: dict[str, float]) -> str:
        ratios = (ours["median"] / floor["median"], ours["p99"] / floor["p99"])
        return (
            f"| {label} | {ours['median']:.0f} | {ours['p99']:.0f} | "
            f"{ratios[0]:.1f}x | {ratios[1]:.1f}x |"
        )

    rows = "\n".join(
        [row("all three verified disabled", three), row("every leaver step", every)]
    )
    return REPORT.format(
        latency=LATENCY_MS,
        people=PEOPLE,
        floor_median=floor["median"],
        floor_p99=floor["p99"],
        rows=rows,
    )


if __name__ == "__main__":
    print(run())
