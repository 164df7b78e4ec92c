"""The cloud-service register's use cases (5.23, the クラウド一覧表).

Systems enter the register from the connectors file (``sync``, at start-up
and with ``iamctl systems sync``) or by hand (``register``), always as
``requested``. The security officer approves, rejects or suspends them;
``register_gate`` keeps connectors from running before approval. Every
change is audited (target ``system:<key>``) with before and after.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError

from iam_service.adapters.connector_config import SystemEntry
from iam_service.domain import register as reg
from iam_service.domain.model import TargetSystem
from iam_service.domain.security import Role
from iam_service.services.errors import (
    ConflictError,
    Forbidden,
    InvalidInput,
    NotFoundError,
    SegregationOfDutiesError,
    ServiceError,
)
from iam_service.services.register_gate import ApprovedSystems
from iam_service.services.register_records import SystemRecord, to_csv
from iam_service.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

FILE_FIELDS = ("kind", "name", "classification", "purpose", "owner")
FILE_ACTOR = reg.Actor(reg.FILE_REQUESTER)


class RegisterIncomplete(ConflictError):
    code = "incomplete"


def _service_error(error: reg.RegisterError) -> ServiceError:
    if isinstance(error, reg.SegregationOfDuties):
        return SegregationOfDutiesError(str(error))
    if isinstance(error, reg.NotPermitted):
        return Forbidden(str(error))
    if isinstance(error, reg.Incomplete):
        return RegisterIncomplete(str(error), field=",".join(error.missing))
    return ConflictError(str(error))


@dataclass
class SyncReport:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    not_in_file: list[str] = field(default_factory=list)


def _file_fields(system: TargetSystem) -> dict[str, str]:
    return {name: str(getattr(system, name)) for name in FILE_FIELDS}


class CloudRegister:
    """Use cases of the register. Each method is one transaction."""

    def __init__(
        self, uow_factory: UnitOfWorkFactory, approved: ApprovedSystems
    ) -> None:
        self.uow_factory = uow_factory
        self.approved = approved

    # -- reading ----------------------------------------------------------
    def systems(self) -> list[SystemRecord]:
        with self.uow_factory() as uow:
            return [SystemRecord.of(s, e) for s, e in uow.register.all()]

    def get(self, key: str) -> SystemRecord:
        with self.uow_factory() as uow:
            system = uow.systems.get(key)
            if system is None:
                raise NotFoundError(f"no system {key!r} in the register")
            return SystemRecord.of(system, uow.register.get(key))

    def detail(self, key: str) -> tuple[SystemRecord, list[dict[str, Any]]]:
        """The entry and its history, oldest first, from the audit trail."""
        with self.uow_factory() as uow:
            system = uow.systems.get(key)
            if system is None:
                raise NotFoundError(f"no system {key!r} in the register")
            history = [
                {
                    "at": r.at.isoformat(),
                    "actor": r.actor,
                    "action": r.action,
                    "before": r.before,
                    "after": r.after,
                    "reason": r.reason,
                }
                for r in uow.audit.for_target(f"system:{key}")
            ]
            return SystemRecord.of(system, uow.register.get(key)), history

    def export_csv(self) -> bytes:
        """The register for the ISMS records (UTF-8 with BOM; see register_csv)."""
        return to_csv(self.systems())

    # -- the connectors file ---------------------------------------------
    def sync(self, entries: Iterable[SystemEntry], *, actor: str) -> SyncReport:
        """Upsert the connectors file's systems: new ones are ``requested``
        (never approved here), changed metadata is audited. Two processes
        starting together may race on a new key; the loser syncs again."""
        entries = tuple(entries)
        try:
            return self._sync_once(entries, actor)
        except IntegrityError:
            return self._sync_once(entries, actor)

    def _sync_once(self, entries: tuple[SystemEntry, ...], actor: str) -> SyncReport:
        report = SyncReport()
        with self.uow_factory() as uow:
            for entry in entries:
                self._sync_entry(uow, entry, actor, report)
            listed = {e.key for e in entries}
            report.not_in_file = [
                s.key
                for s, e in uow.register.all()
                if s.key not in listed
                and e is not None
                and e.source is reg.EntrySource.CONNECTORS_FILE
            ]
            uow.commit()
        self.approved.invalidate()
        return report

    def _sync_entry(
        self, uow: UnitOfWork, entry: SystemEntry, actor: str, report: SyncReport
    ) -> None:
        system = uow.systems.get(entry.key)
        if system is None:
            system = TargetSystem(key=entry.key, kind=entry.kind, name=entry.name)
            uow.systems.add(system)
        before = _file_fields(system)
        for name in FILE_FIELDS:
            setattr(system, name, getattr(entry, name))
        after = _file_fields(system)
        register_entry = uow.register.get(entry.key)
        uow.flush()
        if register_entry is None:
            self._request(uow, system, reg.EntrySource.CONNECTORS_FILE, FILE_ACTOR)
            uow.record(
                actor,
                "system.requested",
                f"system:{entry.key}",
                after=after | {"source": str(reg.EntrySource.CONNECTORS_FILE)},
                reason="new in the connectors file; waits for the security "
                "officer's approval (5.23)",
            )
            report.added.append(entry.key)
            return
        # A system first registered by hand is now the file's to describe.
        before["source"] = str(register_entry.source)
        register_entry.source = reg.EntrySource.CONNECTORS_FILE
        after["source"] = str(register_entry.source)
        changed = sorted(k for k in after if after[k] != before[k])
        if not changed:
            report.unchanged.append(entry.key)
            return
        register_entry.updated_at = uow.clock.now()
        uow.record(
            actor,
            "system.metadata_changed",
            f"system:{entry.key}",
            before={k: before[k] for k in changed},
            after={k: after[k] for k in changed},
            reason="the connectors file changed",
        )
        report.changed.append(entry.key)

    def _request(
        self,
        uow: UnitOfWork,
        system: TargetSystem,
        source: reg.EntrySource,
        requester: reg.Actor,
    ) -> reg.RegisterEntry:
        try:
            entry = reg.request_entry(system.key, source, requester, uow.clock.now())
        except reg.RegisterError as error:
            raise _service_error(error) from None
        uow.register.add(entry)
        return entry

    # -- by hand ------------------------------------------------------------
    def register(
        self, registration: reg.SystemRegistration, actor: reg.Actor
    ) -> SystemRecord:
        """Register a system by hand (a manual system, or a service whose
        connector is not configured yet); it starts ``requested``."""
        with self.uow_factory() as uow:
            if uow.systems.get(registration.key) is not None:
                raise ConflictError(
                    f"system {registration.key!r} is already registered", field="key"
                )
            system = TargetSystem(
                key=registration.key,
                kind=registration.kind,
                name=registration.name,
                classification=registration.classification,
                purpose=registration.purpose,
                owner=registration.owner,
            )
            uow.systems.add(system)
            uow.flush()
            entry = self._request(uow, system, reg.EntrySource.MANUAL, actor)
            entry.apply_details(registration, actor)
            uow.record(
                actor.name,
                "system.requested",
                f"system:{system.key}",
                after=_file_fields(system) | entry.snapshot(),
                reason="registered by hand; waits for the security officer (5.23)",
            )
            uow.commit()
            return SystemRecord.of(system, entry)

    def update(
        self, key: str, update: reg.SystemUpdate, actor: reg.Actor
    ) -> SystemRecord:
        """Change an entry's details. Fields the connectors file owns are
        changed in the file, not here."""
        with self.uow_factory() as uow:
            system, entry = self._load(uow, key)
            try:
                reg.require_role(actor, Role.SYSADMIN, "changes a register entry")
            except reg.RegisterError as error:
                raise _service_error(error) from None
            metadata = update.model_dump(include=set(FILE_FIELDS), exclude_none=True)
            if metadata and entry.source is reg.EntrySource.CONNECTORS_FILE:
                raise InvalidInput(
                    f"{', '.join(sorted(metadata))} of {key} come from the "
                    "connectors file; change them there",
                    field=",".join(sorted(metadata)),
                )
            before = _file_fields(system) | entry.snapshot()
            for name, value in metadata.items():
                setattr(system, name, value)
            entry.apply_details(update, actor)
            after = _file_fields(system) | entry.snapshot()
            changed = sorted(k for k in after if after[k] != before[k])
            if changed:
                entry.updated_at = uow.clock.now()
                uow.record(
                    actor.name,
                    "system.details_changed",
                    f"system:{key}",
                    before={k: before[k] for k in changed},
                    after={k: after[k] for k in changed},
                )
                uow.commit()
            return SystemRecord.of(system, entry)

    # -- decisions --------------------------------------------------------
    def approve(self, key: str, actor: reg.Actor, comment: str) -> SystemRecord:
        return self._decide(
            key, actor, comment, "approved", lambda s, e, a, t, c: e.approve(s, a, t, c)
        )

    def reject(self, key: str, actor: reg.Actor, comment: str) -> SystemRecord:
        return self._decide(
            key, actor, comment, "rejected", lambda _s, e, a, t, c: e.reject(a, t, c)
        )

    def suspend(self, key: str, actor: reg.Actor, comment: str) -> SystemRecord:
        return self._decide(
            key, actor, comment, "suspended", lambda _s, e, a, t, c: e.suspend(a, t, c)
        )

    def resubmit(self, key: str, actor: reg.Actor, comment: str) -> SystemRecord:
        return self._decide(
            key,
            actor,
            comment,
            "resubmitted",
            lambda _s, e, a, t, c: e.resubmit(a, t, c),
        )

    def _decide(
        self,
        key: str,
        actor: reg.Actor,
        comment: str,
        verb: str,
        change: Callable[..., None],
    ) -> SystemRecord:
        with self.uow_factory() as uow:
            system, entry = self._load(uow, key, lock=True)
            before = entry.snapshot()
            try:
                change(system, entry, actor, uow.clock.now(), comment)
            except reg.RegisterError as error:
                raise _service_error(error) from None
            uow.record(
                actor.name,
                f"system.{verb}",
                f"system:{key}",
                before={"state": before["state"]},
                after={"state": str(entry.state), "comment": comment.strip()},
                reason=comment.strip(),
            )
            uow.commit()
        self.approved.invalidate()
        return SystemRecord.of(system, entry)

    @staticmethod
    def _load(
        uow: UnitOfWork, key: str, *, lock: bool = False
    ) -> tuple[TargetSystem, reg.RegisterEntry]:
        system = uow.systems.get(key)
        entry = uow.register.get(key, lock=lock)
        if system is None or entry is None:
            raise NotFoundError(f"no system {key!r} in the register", field="key")
        return system, entry
