"""The review page of a department of 300 people and 3,000 items, over real
HTTP: ``iamctl serve`` (uvicorn) on loopback, PostgreSQL, the department
head's console session. Target: p95 under 300 ms for the page as it opens
(undecided items, flagged first, 50 per page).

The organisation has five such departments (over 15,000 items in all),
so the page's queries run against a table that is not just this review.
Also measured: the page filtered to flagged items, page 20 of all items,
and the JSON items API. The floor is ``GET /healthz`` (uvicorn and one
``SELECT 1``) on the same server and connection.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine

from benchmarks.common import (
    PG_URL,
    free_port,
    percentile,
    pg_schema,
    processes,
    wait_for,
    write_section,
)
from benchmarks.review_data import OrgWriter, bench_policy, load, service
from iam_service.adapters.database import normalize_url
from iam_service.domain.console import SessionKind
from iam_service.domain.model import EmploymentType
from iam_service.domain.security import Role
from iam_service.services.auth import Principal
from iam_service.services.console_sessions import Client, SignedIn, open_session

REQUESTS = int(os.environ.get("BENCH_REVIEW_PAGE_REQUESTS", "200"))
DEPARTMENTS = ("SALES", "ENG", "FIN", "HR", "GA")
# The head and 300 members: the head's own grants go to their manager (5.3).
PEOPLE, GRANTS, APPS = 301, 10, 30


def _organisation(policy_dir: Path, now: datetime) -> OrgWriter:
    rng = random.Random(300)
    policy = load(policy_dir)
    writer = OrgWriter(policy, now)
    apps = [f"ad:GG-App-{n:02d}" for n in range(1, APPS + 1)]
    number = 200_000
    for department in DEPARTMENTS:
        head = f"E{number + 1}"
        for n in range(PEOPLE):
            number += 1
            title = "Manager" if n == 0 else "Staff"
            person = writer.person(
                f"E{number}", department, title, manager=None if n == 0 else head
            )
            born = policy.birthright_for(department, title, EmploymentType.EMPLOYEE)
            for ref in rng.sample(apps, GRANTS - len(born.entitlements)):
                moved = rng.random() < 0.03  # a transfer's leftover: flagged
                other = rng.choice([d for d in DEPARTMENTS if d != department])
                writer.requested(person, ref, asked_in=other if moved else None)
            writer.signed_in(person, 120 if rng.random() < 0.03 else rng.randint(0, 30))
        writer.department(department, head)
    return writer


def _timed(http: requests.Session, url: str) -> list[float]:
    http.get(url, timeout=30).raise_for_status()  # warm up
    times = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        answer = http.get(url, timeout=30)
        times.append(time.perf_counter() - started)
        answer.raise_for_status()
    return times


def run() -> dict[str, Any]:
    now = datetime.now(UTC)
    engine = create_engine(normalize_url(PG_URL))
    with tempfile.TemporaryDirectory() as tmp, pg_schema() as schema:
        workdir = Path(tmp)
        policy_dir = bench_policy(workdir, APPS)
        _organisation(policy_dir, now).write(engine, schema)
        container = service(PG_URL, schema, policy_dir, now, real_clock=True)
        campaign = container.access_reviews.starter.start("quarterly", "bench")
        head = "E200001"
        with container.uow() as uow:
            review = next(
                r
                for r in uow.reviews.for_campaign(campaign.id or 0)
                if r.reviewer_employee_id == head
            )
            token = open_session(
                uow,
                SignedIn(SessionKind.SSO, head, "Bench Head", employee_id=head),
                Client("127.0.0.1", "benchmark"),
                container.console.limits,
            )
            uow.commit()
        items = container.access_reviews.views.review(review.id or 0, _principal(head))[
            "progress"
        ]
        container.close()
        port = free_port()
        env = _env(schema, policy_dir)
        base = f"http://127.0.0.1:{port}"
        serve = ["serve", "--host", "127.0.0.1", "--port", str(port), "--no-scheduler"]
        with processes(env, workdir, [serve]), requests.Session() as http:
            wait_for(lambda: _up(base), 60, "the server", interval=0.1)
            http.cookies.set("iam_session", token)
            page = f"{base}/console/reviews/{review.id}"
            results = {
                "page": _timed(http, page),
                "flagged": _timed(http, page + "?recommendation=flagged"),
                "page20": _timed(http, page + "?status=all&page=20"),
                "api": _timed(http, f"{base}/api/v1/reviews/{review.id}/items"),
                "floor": _timed(http, f"{base}/healthz"),
            }
            assert "E2000" in http.get(page, timeout=30).text
    engine.dispose()
    write_section("review_page", _report(results, items, campaign.items_total))
    p95 = percentile(results["page"], 95) * 1000
    return {"page_p95_ms": round(p95, 1), "items": items["total"]}


def _principal(employee_id: str) -> Principal:
    return Principal(employee_id, frozenset({Role.DEPARTMENT_HEAD}), employee_id)


def _env(schema: str, policy_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IAM_")}
    env.update(
        {
            "IAM_DATABASE_URL": PG_URL,
            "IAM_DATABASE_SCHEMA": schema,
            "IAM_DEMO_MODE": "1",
            "IAM_POLICY_DIR": str(policy_dir),
            "IAM_SCHEDULER_ENABLED": "0",
            "IAM_SESSION_COOKIE_SECURE": "0",
            "IAM_LOG_LEVEL": "WARNING",
        }
    )
    return env


def _up(base: str) -> bool:
    try:
        return requests.get(f"{base}/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def _report(r: dict[str, list[float]], items: dict[str, int], total: int) -> str:
    floor = percentile(r["floor"], 50)

    def row(label: str, key: str) -> str:
        p50, p95, p99 = (percentile(r[key], p) for p in (50, 95, 99))
        return (
            f"| {label} | {p50 * 1000:.1f} | {p95 * 1000:.1f} | {p99 * 1000:.1f} "
            f"| {p50 / floor:.1f}x |"
        )

    return "\n".join(
        [
            "## Access review page, 300 people and 3,000 items (issue 5/6)",
            "",
            "`GET /console/reviews/<id>` as the department head (console session",
            f"cookie), {REQUESTS} requests each, one after the other, over HTTP to",
            "`iamctl serve` (uvicorn) on loopback; PostgreSQL. The review holds",
            f"{items['total']:,} items ({items['flagged']} with a recommendation); the",
            f"campaign {total:,} (five departments of 300). In ms:",
            "",
            "| request | p50 | p95 | p99 | p50 / floor |",
            "|---|---|---|---|---|",
            row("the page as it opens (undecided, flagged first, 50)", "page"),
            row("filtered to items with a recommendation", "flagged"),
            row("page 20 of all items", "page20"),
            row("`GET /api/v1/reviews/<id>/items` (JSON, 50)", "api"),
            row("floor: `GET /healthz` (uvicorn + `SELECT 1`)", "floor"),
            "",
            "Target: p95 under 300 ms for the page as it opens.",
        ]
    )
