"""Engines and schema migrations for the two supported databases.

SQLite (a file) is the embedded default; PostgreSQL is the production store
and is chosen with ``IAM_DATABASE_URL=postgresql://...``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

MIGRATIONS = Path(__file__).with_name("migrations")


def normalize_url(url: str) -> str:
    """Use the psycopg 3 driver for plain ``postgresql://`` URLs."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def make_engine(url: str, *, schema: str | None = None, pool_size: int = 5) -> Engine:
    """An engine with the settings each backend needs.

    ``schema`` (PostgreSQL only) sets the search path, so that test runs can
    each have a schema of their own in one database.
    """
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"timeout": 30, "check_same_thread": False}
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    connect_args: dict[str, Any] = {}
    if schema:
        connect_args["options"] = f"-csearch_path={schema}"
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=10,
        pool_pre_ping=True,
        connect_args=connect_args,
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Autocommit at the driver level so that SQLAlchemy's "begin" event
    # decides how a transaction starts (see below).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


READ_ONLY = "iam_read_only"  # execution option: a reader that never writes


def _sqlite_begin_immediate(connection: Any) -> None:
    # Take the write lock at BEGIN: a claim then can never lose a race
    # half-way through (SQLite has no SELECT ... FOR UPDATE). A declared
    # reader begins deferred: under WAL it reads a snapshot and never waits
    # for a writer, even one in the same thread (the active policy is read
    # from inside a unit of work).
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")
        return
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def alembic_config(url: str, schema: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    if schema:
        config.attributes["schema"] = schema
    return config


def upgrade(url: str, *, schema: str | None = None, revision: str = "head") -> None:
    """Bring the database to ``revision`` (``iamctl db upgrade``)."""
    command.upgrade(alembic_config(url, schema), revision)
