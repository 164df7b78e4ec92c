"""Creating an access review campaign for 10,000 people x 20 grants
(200,000 items) on PostgreSQL, through the service's use case
(``CampaignStarter.start``: catalogue, birthright per position, routing,
SoD findings, two ``INSERT ... SELECT``s, the audit record). Target: < 10 s.

The floor is writing the same 200,000 finished rows with nothing to work
out: ``COPY`` from the client (psycopg 3) into a table like
``review_items`` (same columns and indexes), and, tighter still, the
server copying them itself (``INSERT INTO ... SELECT * FROM review_items``).
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text

from benchmarks.common import PG_URL, pg_schema, write_section
from benchmarks.review_data import OrgWriter, bench_policy, load, service
from iam_service.adapters.database import normalize_url
from iam_service.domain.model import EmploymentType

EMPLOYEE = EmploymentType.EMPLOYEE

PEOPLE = int(os.environ.get("BENCH_REVIEW_PEOPLE", "10000"))
GRANTS = int(os.environ.get("BENCH_REVIEW_GRANTS", "20"))
RUNS = int(os.environ.get("BENCH_REVIEW_RUNS", "3"))
NOW = datetime(2027, 4, 6, 0, 0, tzinfo=UTC)
DEPARTMENTS = ("SALES", "ENG", "FIN", "HR", "IT", "GA")
APPS = 30


def _organisation(policy_dir: Path) -> OrgWriter:
    rng = random.Random(10_000)
    policy = load(policy_dir)
    writer = OrgWriter(policy, NOW)
    apps = [f"ad:GG-App-{n:02d}" for n in range(1, APPS + 1)]
    per, extra = divmod(PEOPLE, len(DEPARTMENTS))
    number = 100_000
    for index, department in enumerate(DEPARTMENTS):
        head = f"E{number + 1}"
        for n in range(per + (index < extra)):
            number += 1
            title = "Manager" if n == 0 else "Staff"
            person = writer.person(
                f"E{number}", department, title, manager=None if n == 0 else head
            )
            born = policy.birthright_for(department, title, EMPLOYEE).entitlements
            for ref in rng.sample(apps, GRANTS - len(born)):
                writer.requested(person, ref)
            writer.signed_in(person, 120 if rng.random() < 0.05 else rng.randint(0, 30))
        writer.department(department, head)
    return writer


def _clear(engine: Engine, schema: str) -> None:
    with engine.begin() as c:
        c.execute(
            text(
                f'TRUNCATE "{schema}".review_items, "{schema}".review_delegations, '
                f'"{schema}".campaign_reviews, "{schema}".review_campaigns CASCADE'
            )
        )


def _campaign_runs(engine: Engine, schema: str, policy_dir: Path) -> list[float]:
    container = service(PG_URL, schema, policy_dir, NOW)
    times = []
    try:
        for _ in range(RUNS):
            _clear(engine, schema)
            started = time.perf_counter()
            campaign = container.access_reviews.starter.start("quarterly", "bench")
            times.append(time.perf_counter() - started)
            assert campaign.items_total >= PEOPLE * GRANTS, campaign.items_total
    finally:
        container.close()
    return times


def _floors(engine: Engine, schema: str) -> dict[str, list[float]]:
    s = f'"{schema}"'
    with engine.begin() as c:
        c.execute(text(f"DROP TABLE IF EXISTS {s}.review_items_floor"))
        c.execute(
            text(
                f"CREATE TABLE {s}.review_items_floor "
                f"(LIKE {s}.review_items INCLUDING ALL)"
            )
        )
        columns = [
            r[0]
            for r in c.execute(
                text(
                    "SELECT column_name FROM information_schema.columns WHERE "
                    "table_schema = :s AND table_name = 'review_items' "
                    "ORDER BY ordinal_position"
                ),
                {"s": schema},
            )
        ]
        rows = c.execute(text(f"SELECT * FROM {s}.review_items")).all()
    copy, server = [], []
    for _ in range(RUNS):
        with engine.begin() as c:
            c.execute(text(f"TRUNCATE {s}.review_items_floor"))
        copy.append(_copy(engine, schema, columns, rows))
        with engine.begin() as c:
            c.execute(text(f"TRUNCATE {s}.review_items_floor"))
        started = time.perf_counter()
        with engine.begin() as c:
            c.execute(
                text(
                    f"INSERT INTO {s}.review_items_floor SELECT * FROM {s}.review_items"
                )
            )
        server.append(time.perf_counter() - started)
    return {"copy": copy, "server": server}


def _copy(engine: Engine, schema: str, columns: list[str], rows: list[Any]) -> float:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        started = time.perf_counter()
        statement = (
            f'COPY "{schema}".review_items_floor ({", ".join(columns)}) FROM STDIN'
        )
        with cursor.copy(statement) as copy:  # type: ignore[attr-defined]
            for row in rows:
                copy.write_row(tuple(row))
        raw.commit()
        return time.perf_counter() - started
    finally:
        raw.close()


def run() -> dict[str, Any]:
    engine = create_engine(normalize_url(PG_URL))
    with tempfile.TemporaryDirectory() as tmp, pg_schema() as schema:
        policy_dir = bench_policy(Path(tmp), APPS)
        catalogue = len(load(policy_dir).entitlements)
        writer = _organisation(policy_dir)
        writer.write(engine, schema)
        with engine.begin() as c:
            c.execute(text(f'ANALYZE "{schema}".grants, "{schema}".persons'))
        campaign = _campaign_runs(engine, schema, policy_dir)
        with engine.connect() as c:
            items = c.execute(
                text(f'SELECT count(*) FROM "{schema}".review_items')
            ).scalar_one()
        floors = _floors(engine, schema)
    engine.dispose()
    result = {
        "people": PEOPLE,
        "grants": len(writer.rows.tables["grants"]),
        "items": int(items),
        "catalogue": catalogue,
        "campaign": campaign,
        **floors,
    }
    write_section("review_campaign", _report(result))
    return {
        k: v for k, v in result.items() if k not in ("campaign", "copy", "server")
    } | {"campaign_median_s": round(statistics.median(campaign), 2)}


def _report(r: dict[str, Any]) -> str:
    campaign = statistics.median(r["campaign"])
    copy = statistics.median(r["copy"])
    server = statistics.median(r["server"])
    runs = ", ".join(f"{t:.2f}" for t in r["campaign"])
    rows = [
        ("campaign started (`CampaignStarter.start`)", campaign),
        ("floor: the finished rows, `COPY` from the client", copy),
        (
            "floor: the finished rows copied by the server (`INSERT ... SELECT *`)",
            server,
        ),
    ]
    table = "\n".join(f"| {what} | {t:.2f} | {campaign / t:.2f}x |" for what, t in rows)
    return f"""## Access review campaign creation (issue 5/6)

Starting a quarterly campaign through the use case for {r["people"]:,} people
holding {r["grants"]:,} grants (20 each: birthright plus requested
application groups; {r["catalogue"]} entitlements in the catalogue),
PostgreSQL on loopback: routing (heads, heads' own access, the security
officer's privileged review), recommendations (sign-ins of {r["people"]:,}
accounts, birthright per position, the request behind each grant, SoD
findings) and {r["items"]:,} items written by two `INSERT ... SELECT`s.
Median of {len(r["campaign"])} runs ({runs} s).

| | seconds | campaign / this |
|---|---|---|
{table}

Target: under 10 s."""
