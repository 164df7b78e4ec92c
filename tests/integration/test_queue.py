"""The durable operation queue on SQLite and PostgreSQL: ordering, retries,
dead operations, leases and the priority lane."""

from __future__ import annotations

from datetime import timedelta

from connectors.base import PermanentError, RetryableError
from connectors.fake import FakeConnector
from iam_service.bootstrap import Container
from iam_service.domain.clock import FrozenClock
from iam_service.domain.hr import HrEvent
from iam_service.domain.operations import OperationKind, OperationStatus, Priority
from iam_service.services import audit_trail
from tests.support.service import drain, event, hire


def _submit(c: Container, body: dict[str, object]) -> dict[str, object]:
    return c.hr_intake.submit(HrEvent.model_validate(body), actor="test")


def _ops(c: Container) -> list[tuple[str, str, int]]:
    with c.uow() as uow:
        return [
            (str(o.kind), str(o.status), o.attempts)
            for o in reversed(uow.operations.list(limit=1000))
        ]


def test_operations_on_one_account_run_one_at_a_time_in_order(
    container: Container,
) -> None:
    _submit(container, hire("E2001"))
    first = container.queue.claim("w1")
    assert first is not None and first.kind is OperationKind.CREATE_ACCOUNT
    # The group additions wait for the create, whoever asks.
    assert container.queue.claim("w2") is None


def test_terminations_jump_the_queue(
    container: Container, fake_ad: FakeConnector
) -> None:
    _submit(container, hire("E2002", given_name="Emi", family_name="Oda"))
    drain(container)
    for n in range(3):
        _submit(container, hire(f"E21{n:02d}"))
    _submit(container, event("terminate", "E2002", "t-2002"))
    job = container.queue.claim("w1")
    assert job is not None and job.kind is OperationKind.DISABLE_ACCOUNT
    with container.uow() as uow:
        op = uow.operations.get(job.operation_id)
        assert op is not None and op.priority == Priority.TERMINATION


def test_an_outage_retries_with_backoff_and_completes_when_back(
    container: Container, fake_ad: FakeConnector, clock: FrozenClock
) -> None:
    _submit(container, hire("E2003", given_name="Rin", family_name="Ono"))
    drain(container)
    fake_ad.outage = True
    _submit(container, event("terminate", "E2003", "t-2003"))
    drain(container)
    with container.uow() as uow:
        [pending] = [
            o
            for o in uow.operations.list(OperationStatus.PENDING)
            if o.kind is OperationKind.DISABLE_ACCOUNT
        ]
        assert pending.attempts == 1 and "RetryableError" in (pending.last_error or "")
        assert (
            pending.next_attempt_at is not None
            and pending.next_attempt_at > clock.now()
        )
    assert drain(container) == 0  # backing off: nothing is due yet
    fake_ad.outage = False
    clock.advance(timedelta(minutes=10))
    drain(container)
    state = fake_ad.find_account(username="rono")
    assert state is not None and not state.enabled
    statuses = _ops(container)
    assert all(status == "succeeded" for _, status, _ in statuses), statuses


def test_an_operation_that_keeps_failing_is_parked_as_dead(
    container: Container, fake_ad: FakeConnector, clock: FrozenClock
) -> None:
    fake_ad.outage = True
    _submit(container, hire("E2004"))
    for _ in range(container.settings.queue_max_attempts + 2):
        drain(container)
        clock.advance(timedelta(hours=1))
    with container.uow() as uow:
        dead = uow.operations.list(OperationStatus.DEAD)
        assert [o.kind for o in dead] == [OperationKind.CREATE_ACCOUNT]
        assert dead[0].attempts == dead[0].max_attempts
    assert audit_trail.verify(container.uow).ok


def test_a_permanent_error_is_dead_at_once_with_the_reason(
    container: Container, fake_ad: FakeConnector
) -> None:
    fake_ad.fail_next("create_account", PermanentError("insufficient access rights"))
    _submit(container, hire("E2005"))
    drain(container)
    with container.uow() as uow:
        dead = {o.kind: o for o in uow.operations.list(OperationStatus.DEAD)}
        create = dead[OperationKind.CREATE_ACCOUNT]
        assert create.attempts == 1
        assert "insufficient access rights" in (create.last_error or "")
        # What depended on the account says why it could not run.
        assert "was never created" in (
            dead[OperationKind.ADD_TO_GROUP].last_error or ""
        )


def test_a_dead_workers_operation_is_taken_over_after_its_lease(
    container: Container, fake_ad: FakeConnector, clock: FrozenClock
) -> None:
    _submit(container, hire("E2006", given_name="Sho", family_name="Ueda"))
    job = container.queue.claim("crashed-worker")
    assert job is not None
    assert container.queue.reap() == 0  # the lease still runs
    clock.advance(timedelta(seconds=container.settings.queue_lease_seconds + 1))
    assert container.queue.reap() == 1
    drain(container)
    state = fake_ad.find_account(username="sueda")
    assert state is not None and state.enabled
    # The presumed-dead worker wakes up: its late result is refused.
    late = container.queue.fail("crashed-worker", job, RetryableError("late"))
    assert late is None
    statuses = _ops(container)
    assert all(status == "succeeded" for _, status, _ in statuses), statuses


def test_a_dead_operation_can_be_retried_by_an_operator(
    container: Container, fake_ad: FakeConnector
) -> None:
    fake_ad.fail_next("create_account", PermanentError("schema violation"))
    _submit(container, hire("E2007", given_name="Nao", family_name="Iida"))
    drain(container)
    with container.uow() as uow:
        create = next(
            o
            for o in uow.operations.list(OperationStatus.DEAD)
            if o.kind is OperationKind.CREATE_ACCOUNT
        )
    # Retrying the create also requeues what died behind it on that account.
    assert container.queue.retry_dead(create.id or 0, "cli:test") is not None
    drain(container)
    state = fake_ad.find_account(username="niida")
    assert state is not None and state.groups == {"GG-All-Staff", "GG-Sales"}
    statuses = _ops(container)
    assert all(status == "succeeded" for _, status, _ in statuses), statuses
