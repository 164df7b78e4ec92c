"""Inbound SCIM 2.0: identity providers and HR systems drive joiners, movers
and leavers through ``/scim/v2/Users`` exactly as the HR events API does.

Every write becomes one HR event applied by ``HrIntake`` (source ``scim``)
in the same transaction as the SCIM record and an audit record, so the
joiner/mover/leaver steps, their operations and their audit are the HR
intake's own. Bad input raises ``ScimError`` before anything is written.

* ``id`` is the employee number (``iam_service.domain.scim_user``).
* DELETE terminates and hides the User: later reads answer 404 as RFC 7644
  §3.6 requires, while the person record stays (HR data; see
  ``GET /api/v1/identities/{id}``). A POST with that employee number again is
  a rehire and brings the User back under the same id.
* A retried write (same method, body and target, nothing changed since) is
  answered from the current state and writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError

from iam_service.domain.hr import HrEvent
from iam_service.domain.model import Person
from iam_service.domain.scim_input import (
    ScimInputError,
    parse_resource,
    replaced_state,
    state_from_document,
)
from iam_service.domain.scim_patch import patched_state
from iam_service.domain.scim_user import ScimUserRecord, UserState, state_of
from iam_service.services import scim_events as ev
from iam_service.services.errors import ServiceError
from iam_service.services.hr_intake import HrIntake
from iam_service.services.scim_events import ScimError
from iam_service.services.scim_queries import ScimQueries
from iam_service.services.unit_of_work import UnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True)
class ScimResult:
    """A User as the client gets it, with the HR events the write applied
    as (type, status) pairs, for metrics."""

    resource: dict[str, Any]
    status: int = 200
    events: list[tuple[str, str]] = field(default_factory=list)

    @property
    def version(self) -> str:
        return str(self.resource["meta"]["version"])


@dataclass(frozen=True)
class _Write:
    method: str
    request: str  # method and body hash: what a retry repeats
    actor: str
    base_url: str


class ScimInbound(ScimQueries):
    """The SCIM use cases. ``base_url`` ends in ``/scim/v2``."""

    def __init__(self, uow_factory: UnitOfWorkFactory, hr_intake: HrIntake) -> None:
        super().__init__(uow_factory, hr_intake.ctx.policy)
        self.hr_intake = hr_intake

    def create(self, body: Any, *, actor: str, base_url: str) -> ScimResult:
        """POST /Users: a hire; for a User deleted before, a rehire."""
        desired = _read(lambda: state_from_document(parse_resource(body)))
        if not desired.active:
            raise ScimError(
                400,
                "a User is created active (a hire); to record a leaver, create "
                "the User and then set active to false",
                "invalidValue",
            )
        write = _Write("post", f"post:{ev.body_hash(body)}", actor, base_url)
        return self._create(desired, write)

    def _create(self, desired: UserState, write: _Write) -> ScimResult:
        digest = write.request.split(":", 1)[1]
        with self.uow_factory() as uow:
            who = desired.employee_number
            person = uow.persons.by_employee_id(who, lock=True)
            if person is None:
                event = ev.hire_event(desired, ev.event_id("post", who, None, digest))
                return self._apply(uow, None, None, desired, event, write, 201)
            record = uow.scim_users.for_person(_id(person))
            before = self._render(uow, person, record, write.base_url)
            if record is not None and _replayed(record, write, before):
                return ScimResult(before, 201)
            if record is None or record.deleted_at is None:
                raise ScimError(
                    409,
                    f"employeeNumber {who} is already the User {who}",
                    "uniqueness",
                )
            base = state_of(person, record)
            eid = ev.event_id("post", who, before["meta"]["version"], digest)
            event = ev.change_event(base, desired, eid)
            return self._apply(uow, person, record, desired, event, write, 201)

    def replace(
        self, user_id: str, body: Any, *, if_match: str | None, actor: str,
        base_url: str,
    ) -> ScimResult:  # fmt: skip
        """PUT /Users/{id}. Optional attributes left out are not asserted and
        keep their values (RFC 7644 §3.5.1 allows either reading)."""

        def desired(base: UserState) -> UserState:
            return replaced_state(base, body)

        write = _Write("put", f"put:{ev.body_hash(body)}", actor, base_url)
        return self._change(user_id, if_match, write, desired)

    def patch(
        self, user_id: str, body: Any, *, if_match: str | None, actor: str,
        base_url: str,
    ) -> ScimResult:  # fmt: skip
        """PATCH /Users/{id}; the result is validated as a whole."""

        def desired(base: UserState) -> UserState:
            return patched_state(base, body)

        write = _Write("patch", f"patch:{ev.body_hash(body)}", actor, base_url)
        return self._change(user_id, if_match, write, desired)

    def delete(
        self, user_id: str, *, if_match: str | None, actor: str
    ) -> list[tuple[str, str]]:
        """DELETE /Users/{id}: a termination; the User is hidden from then on.
        Returns the HR events applied as (type, status) pairs."""
        write = _Write("delete", "delete", actor, "")
        with self.uow_factory() as uow:
            person, record = self._load(uow, user_id, hidden_ok=True)
            before = self._render(uow, person, record, "")
            if record is not None and record.deleted_at is not None:
                if _replayed(record, write, before):
                    return []
                raise _not_found(user_id)
            _precondition(if_match, before)
            version = before["meta"]["version"]
            eid = ev.event_id("delete", user_id, version, "-")
            event = ev.termination_event(user_id, eid)
            state = state_of(person, record)
            done = self._apply(
                uow, person, record, state, event, write, 204, delete=True
            )
            return done.events

    # -- the shared write path --------------------------------------------
    def _change(
        self, user_id: str, if_match: str | None, write: _Write, desired_of: Any
    ) -> ScimResult:
        with self.uow_factory() as uow:
            person, record = self._load(uow, user_id, lock=True)
            before = self._render(uow, person, record, write.base_url)
            _precondition(if_match, before)
            if record is not None and _replayed(record, write, before):
                return ScimResult(before)
            base = state_of(person, record)
            desired = _read(lambda: desired_of(base))
            digest = write.request.split(":", 1)[1]
            eid = ev.event_id(write.method, user_id, before["meta"]["version"], digest)
            event = ev.change_event(base, desired, eid)
            return self._apply(uow, person, record, desired, event, write, 200)

    def _apply(
        self,
        uow: UnitOfWork,
        person: Person | None,
        record: ScimUserRecord | None,
        desired: UserState,
        event: HrEvent,
        write: _Write,
        status: int,
        *,
        delete: bool = False,
    ) -> ScimResult:
        if not delete:  # a termination is never held up by SCIM's own data
            self._check_unique(uow, person, desired)
        old = _scim_side(record)
        try:
            result = self.hr_intake.apply(uow, event, actor=write.actor, source="scim")
            if person is None:
                person = uow.persons.by_employee_id(desired.employee_number)
            if person is None:  # pragma: no cover - the hire just added it
                raise ScimError(500, "the hire did not record the person")
            record = self._store(uow, person, record, desired, write.request, delete)
            uow.flush()
            resource = self._render(uow, person, record, write.base_url)
            record.last_version = resource["meta"]["version"]
            uow.record(
                write.actor,
                f"scim.user.{'deleted' if delete else write.method}",
                f"person:{person.employee_id}",
                before=old,
                after=_scim_side(record),
                reason=event.event_id,
            )
            uow.commit()
        except ServiceError as error:
            raise ev.as_scim_error(error) from None
        except IntegrityError:
            # A concurrent request took the employee number, e-mail or
            # userName between our checks and the commit; nothing is kept.
            raise ScimError(
                409, "another request took one of these values meanwhile", "uniqueness"
            ) from None
        return ScimResult(resource, status, [(result["type"], result["status"])])

    @staticmethod
    def _check_unique(uow: UnitOfWork, person: Person | None, want: UserState) -> None:
        me = person.id if person else None
        holders = uow.scim_users.user_name_holders(want.user_name)
        if any(holder != me for holder in holders):
            raise ScimError(409, f"userName {want.user_name} is taken", "uniqueness")
        other = uow.persons.by_email(want.email or "")
        if other is not None and other.id != me:
            raise ScimError(
                409,
                f"emails: {want.email} is used by the User {other.employee_id}",
                "uniqueness",
            )

    @staticmethod
    def _store(
        uow: UnitOfWork,
        person: Person,
        record: ScimUserRecord | None,
        want: UserState,
        request: str,
        delete: bool,
    ) -> ScimUserRecord:
        now = uow.clock.now()
        if record is None:
            record = ScimUserRecord(_id(person), want.user_name, want.user_name.lower())
            record.created_at = record.updated_at = now
            uow.scim_users.add(record)
        before = _scim_side(record)
        record.rename(want.user_name)
        record.external_id, record.email_type = want.external_id, want.email_type
        record.email_primary = want.email_primary
        record.deleted_at = now if delete else None
        if _scim_side(record) != before:
            record.updated_at = now
        record.last_request = request
        return record


def _read(parse: Any) -> UserState:
    try:
        state: UserState = parse()
    except ScimInputError as error:
        raise ScimError(error.status, error.detail, error.scim_type) from None
    return state


def _replayed(record: ScimUserRecord, write: _Write, now: dict[str, Any]) -> bool:
    """The same request as the last write, with nothing changed since."""
    return (
        record.last_request == write.request
        and record.last_version == (now["meta"]["version"])
    )


def _precondition(if_match: str | None, current: dict[str, Any]) -> None:
    if if_match is not None and not ev.etag_matches(
        if_match, current["meta"]["version"]
    ):
        raise ScimError(
            412, f"the User is at version {current['meta']['version']} now", None
        )


def _scim_side(record: ScimUserRecord | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {
        "userName": record.user_name,
        "externalId": record.external_id,
        "email": [record.email_type, record.email_primary],
        "deleted": record.deleted_at is not None,
    }


def _not_found(user_id: str) -> ScimError:
    return ScimError(404, f"no User {user_id}")


def _id(person: Person) -> int:
    if person.id is None:
        raise RuntimeError("flush the person first")
    return person.id
