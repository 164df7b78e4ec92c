"""Alembic environment: runs migrations against the configured URL."""

from __future__ import annotations

from alembic import context

from iam_service.adapters.database import make_engine
from iam_service.adapters.orm import load_areas, metadata

load_areas()
config = context.config
url = config.get_main_option("sqlalchemy.url") or ""
schema = config.attributes.get("schema")
engine = make_engine(url, schema=schema)
with engine.connect() as connection:
    # Keep SQLite in its driver's default transaction handling for DDL.
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        user_module_prefix="orm.",
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
engine.dispose()
