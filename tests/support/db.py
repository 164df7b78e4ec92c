"""Databases for tests: a fresh SQLite file or a PostgreSQL schema per test.

PostgreSQL comes from ``IAM_TEST_DATABASE_URL`` (default: the ``test``
database on 127.0.0.1:5432). Each test session migrates its own schema once
and empties it between tests, so parallel sessions never collide.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from iam_service.adapters.database import normalize_url, upgrade

PG_URL = os.environ.get(
    "IAM_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


@dataclass(frozen=True)
class TestDatabase:
    __test__ = False  # not a test class
    url: str
    schema: str | None = None

    @property
    def is_postgres(self) -> bool:
        return self.schema is not None


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[str]:
    schema = f"iam_t_{uuid.uuid4().hex[:10]}"
    engine = create_engine(normalize_url(PG_URL))
    try:
        with engine.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as error:  # noqa: BLE001 - turn into a clear failure
        pytest.fail(f"PostgreSQL at {PG_URL} is not reachable: {error}")
    upgrade(PG_URL, schema=schema)
    yield schema
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "iam.db"
    upgrade(f"sqlite:///{path}")
    return path


def empty_pg_schema(schema: str) -> None:
    engine = create_engine(normalize_url(PG_URL))
    with engine.begin() as connection:
        tables = connection.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = :s "
                "AND tablename <> 'alembic_version'"
            ),
            {"s": schema},
        ).scalars()
        names = ", ".join(f'"{schema}"."{t}"' for t in tables)
        if names:
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> TestDatabase:
    """Both stores: every test using this runs once on each."""
    if request.param == "sqlite":
        path = tmp_path / "iam.db"
        shutil.copy(sqlite_template, path)
        return TestDatabase(f"sqlite:///{path}")
    schema = request.getfixturevalue("pg_schema")
    empty_pg_schema(schema)
    return TestDatabase(PG_URL, schema)


@pytest.fixture
def pg_database(pg_schema: str) -> TestDatabase:
    """PostgreSQL only (concurrency, SKIP LOCKED, NOTIFY)."""
    empty_pg_schema(pg_schema)
    return TestDatabase(PG_URL, pg_schema)
