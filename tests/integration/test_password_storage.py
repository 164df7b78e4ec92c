"""What the password features store (5.17), on both databases: the
migration makes the tables as mapped, the history keeps argon2 hashes of the
last N only, and hashing never warns in production."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from iam_service.adapters import orm
from iam_service.adapters.database import make_engine
from iam_service.adapters.password_hashing import hash_secret, verify_secret
from iam_service.bootstrap import Container
from iam_service.domain.hr import HrEvent
from iam_service.settings import REPO_ROOT
from tests.support.db import TestDatabase
from tests.support.service import hire

MINE = ("password_history", "password_change_attempts")


def _only(tables: tuple[str, ...]) -> Callable[..., bool]:
    def include(obj: Any, _name: Any, kind: str, *_: Any) -> bool:
        table = obj if kind == "table" else getattr(obj, "table", None)
        return table is None or table.name in tables

    return include


def test_the_migration_creates_the_tables_as_mapped(database: TestDatabase) -> None:
    engine = make_engine(database.url, schema=database.schema)
    orm.load_areas()
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"include_object": _only(MINE), "compare_type": True}
            )
            differences = compare_metadata(context, orm.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_the_history_keeps_hashes_of_the_last_n_only(container: Container) -> None:
    container.hr_intake.submit(HrEvent.model_validate(hire("E9101")), actor="test")
    checks = container.passwords.checks
    history = checks.rules.history
    passwords = [f"Juniper#{n:02d}-Orchard" for n in range(history + 2)]
    with container.uow() as uow:
        person = uow.persons.by_employee_id("E9101")
        assert person is not None and person.id is not None
        for password in passwords:
            checks.remember(uow, person.id, "ad", password)
        uow.commit()
    with container.uow() as uow:
        kept = uow.password_history.recent(person.id, "ad", 100)
        reused = checks.history_test(uow, person.id, "ad")
        other_system = checks.history_test(uow, person.id, "entra")
    assert len(kept) == history
    assert all(e.password_hash.startswith("$argon2id$") for e in kept)
    assert not any(p in e.password_hash for e in kept for p in passwords)
    assert [reused(p) for p in passwords] == [False] * 2 + [True] * history
    assert not other_system(passwords[-1])  # per person *per system*


def test_argon2_hashes_verify() -> None:
    hashed = hash_secret("Juniper#07-Orchard")
    assert hashed.startswith("$argon2id$")
    assert verify_secret("Juniper#07-Orchard", hashed)
    assert not verify_secret("Juniper#07-Orchardx", hashed)
    assert not verify_secret("Juniper#07-Orchard", "not a hash")


def test_hashing_does_not_warn_in_production() -> None:
    """passlib imports ``crypt`` (deprecated) and reads argon2.__version__;
    with every warning shown, importing and hashing stays silent."""
    code = (
        "from iam_service.adapters.password_hashing import hash_secret, "
        "verify_secret; assert verify_secret('x', hash_secret('x'))"
    )
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
