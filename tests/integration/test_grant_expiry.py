"""The expiry job on SQLite and PostgreSQL: a grant past its end is removed
and audited, its group removal is queued only where no other grant still
gives the entitlement, and running the job again changes nothing."""

from __future__ import annotations

from datetime import timedelta

from connectors.fake import FakeConnector
from iam_service.bootstrap import Container
from iam_service.domain.clock import FrozenClock
from iam_service.domain.model import Grant, GrantSource, GrantStatus
from iam_service.domain.operations import OperationKind
from iam_service.services.grant_expiry import expire_grants
from tests.support.access import hire_all, staff
from tests.support.service import drain


def _grant(c: Container, ref: str, source: GrantSource, ends: timedelta) -> int:
    with c.uow() as uow:
        person = uow.persons.by_employee_id("E101")
        assert person is not None and person.id is not None
        now = uow.clock.now()
        grant = Grant(person.id, ref, source, now, expires_at=now + ends)
        uow.grants.add(grant)
        uow.flush()
        uow.commit()
        return grant.id or 0


def test_expired_grants_go_and_only_what_nothing_else_gives_is_removed(
    container: Container, fake_ad: FakeConnector, clock: FrozenClock
) -> None:
    hire_all(container, staff("E101", "SALES"))
    drain(container)
    state = fake_ad.find_account(employee_id="E101")
    assert state is not None
    fake_ad.add_to_group(state.ref, "GG-Engineering")  # as its request did
    engineering = _grant(
        container, "ad:GG-Engineering", GrantSource.REQUEST, timedelta(days=2)
    )
    sales = _grant(container, "ad:GG-Sales", GrantSource.REVIEW, timedelta(days=1))
    later = _grant(container, "ad:GG-Eng-Leads", GrantSource.REQUEST, timedelta(days=9))

    clock.advance(timedelta(days=2))
    assert expire_grants(container.uow, container.lifecycle) == 2
    assert expire_grants(container.uow, container.lifecycle) == 0  # idempotent
    with container.uow() as uow:
        status = {g: uow.grants.get(g).status for g in (engineering, sales, later)}  # type: ignore[union-attr]
        audit = [
            r
            for r in uow.audit.for_target("person:E101")
            if r.action == "grant.expired"
        ]
        person = uow.persons.by_employee_id("E101")
        [account] = uow.accounts.for_person(person.id)  # type: ignore[union-attr]
        removals = [
            o.payload["group"]
            for o in uow.operations.for_account(account.id or 0)
            if o.kind is OperationKind.REMOVE_FROM_GROUP
        ]
    assert status == {
        engineering: GrantStatus.REMOVED,
        sales: GrantStatus.REMOVED,
        later: GrantStatus.ACTIVE,
    }
    assert sorted(r.before["entitlement"] for r in audit) == [  # type: ignore[index]
        "ad:GG-Engineering",
        "ad:GG-Sales",
    ]
    assert removals == ["GG-Engineering"]  # GG-Sales is still the birthright's
    drain(container)
    groups = fake_ad.find_account(employee_id="E101").groups  # type: ignore[union-attr]
    assert "GG-Engineering" not in groups and "GG-Sales" in groups
