"""Collecting what each system reports of its accounts' last sign-in.

The ``collect_sign_ins`` job reads every account of each approved system
that reports sign-ins (``Capability.LAST_SIGN_IN``: AD's
lastLogonTimestamp, Entra's signInActivity) and stores the time per account
in ``sign_in_activity``. A campaign reads that table and never calls a
connector itself; a system that reports nothing has no rows, and its items
say "not reported" instead of guessing.

AD replicates lastLogonTimestamp only every 9 to 14 days, so a time read
here may be up to two weeks old: fine for "no sign-in for 90 days".
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from connectors.base import Capability, Connector, ConnectorError
from iam_service.adapters import orm
from iam_service.adapters.orm_reviews import sign_in_activity
from iam_service.domain.model import AccountStatus
from iam_service.services.provisioning import Systems
from iam_service.services.unit_of_work import UnitOfWorkFactory

log = logging.getLogger(__name__)


class SignInCollector:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        systems: Systems,
        connector_factory: Callable[[str], Connector],
        approved: Callable[[], frozenset[str]] | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.systems = systems
        self.connector_factory = connector_factory
        self.approved = approved

    def collect(self) -> dict[str, int]:
        """Read each reporting system once; returns accounts stored per system.
        A system that fails is logged and skipped (its old rows stay)."""
        allowed = self.approved() if self.approved else None
        stored = {}
        for key, capabilities in sorted(self.systems.capabilities.items()):
            if Capability.LAST_SIGN_IN not in capabilities:
                continue
            if allowed is not None and key not in allowed:
                continue  # 5.23: no connector runs for an unapproved system
            try:
                stored[key] = self._collect(key)
            except ConnectorError as error:
                log.warning("sign-ins of %s not collected: %s", key, error)
        return stored

    def _collect(self, system_key: str) -> int:
        with self.uow_factory() as uow:
            a = orm.accounts
            rows = uow.session.execute(
                select(a.c.id, a.c.native_id, a.c.username).where(
                    a.c.system_key == system_key, a.c.status != AccountStatus.DELETED
                )
            )
            by_native = {}
            by_name = {}
            for account_id, native_id, username in rows:
                if native_id:
                    by_native[native_id] = account_id
                by_name[username.casefold()] = account_id
        connector = self.connector_factory(system_key)
        found: dict[int, Any] = {}
        try:
            for state in connector.iter_accounts():
                account_id = by_native.get(state.ref.native_id) or by_name.get(
                    state.ref.username.casefold()
                )
                if account_id is not None:
                    found[account_id] = state.last_sign_in
        finally:
            connector.close()
        with self.uow_factory() as uow:
            now = uow.clock.now()
            values = [
                {
                    "account_id": account_id,
                    "system_key": system_key,
                    "last_sign_in_at": last,
                    "observed_at": now,
                }
                for account_id, last in found.items()
            ]
            if values:
                insert = pg_insert if uow.is_postgres else sqlite_insert
                statement = insert(sign_in_activity)
                uow.session.execute(
                    statement.on_conflict_do_update(
                        index_elements=["account_id"],
                        set_={
                            "last_sign_in_at": statement.excluded.last_sign_in_at,
                            "observed_at": statement.excluded.observed_at,
                        },
                    ),
                    values,
                )
            uow.commit()
        return len(found)
