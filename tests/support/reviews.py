"""A small organisation with the access a review should catch (dummy data,
8.33), built through the service's own use cases where they exist.

``review_org`` (on the ``container``, fake AD) holds, 120 days after hiring:

* SALES (head S100, whose manager is G300): S101 with a grant requested in
  SALES (legitimate), S102 who never signed in, S103 who last signed in
  120 days ago, S104 who moved from FIN keeping a grant requested there;
* FIN (head F200): F201 holding both payment rights under the security
  officer's SoD exception, F202 holding both without one (planted);
* IT (head I401): I400 with Domain Admins (privileged, an elevation);
* ENG without a head (its reviews go to the security officer);
* GA (head G300), and X900, a security officer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from connectors.fake import FakeConnector
from iam_service.bootstrap import Container
from iam_service.domain.access import AccessRequestCreate, SodExceptionCreate
from iam_service.domain.clock import FrozenClock
from iam_service.domain.hr import HrEvent
from iam_service.domain.model import Grant, GrantSource
from iam_service.domain.movers import MoverDecision
from iam_service.domain.reviews import Review
from iam_service.domain.security import Role
from iam_service.services.auth import Principal
from tests.support.access import hire_all
from tests.support.service import drain, event, hire

HEADS = {"GA": "G300", "SALES": "S100", "FIN": "F200", "IT": "I401"}


def who(employee_id: str | None, *roles: Role) -> Principal:
    """A principal acting for ``employee_id`` (an API token would)."""
    return Principal(
        name=f"test-{employee_id or 'machine'}",
        roles=frozenset(roles),
        employee_id=employee_id,
    )


def head(employee_id: str) -> Principal:
    return who(employee_id, Role.DEPARTMENT_HEAD)


SECURITY_OFFICER = who("X900", Role.SECURITY_OFFICER)
SYSADMIN = who("I401", Role.SYSADMIN)
AUDITOR = who(None, Role.AUDITOR)


def _people() -> list[dict[str, object]]:
    def one(
        employee_id: str, department: str, title: str, manager: str | None
    ) -> dict[str, object]:
        extra = {"manager_employee_id": manager} if manager else {}
        return hire(
            employee_id,
            department,
            title,
            given_name="Test",
            family_name=f"Person{employee_id}",
            employee=extra,
        )

    return [
        one("G300", "GA", "Manager", None),
        one("X900", "GA", "Staff", "G300"),
        one("S100", "SALES", "Sales Manager", "G300"),
        one("S101", "SALES", "Staff", "S100"),
        one("S102", "SALES", "Staff", "S100"),
        one("S103", "SALES", "Staff", "S100"),
        one("S104", "FIN", "Staff", "F200"),
        one("F200", "FIN", "Manager", "G300"),
        one("F201", "FIN", "Staff", "F200"),
        one("F202", "FIN", "Staff", "F200"),
        one("I400", "IT", "Staff", "I401"),
        one("I401", "IT", "Manager", "G300"),
        one("E500", "ENG", "Staff", None),
    ]


@dataclass(frozen=True)
class ReviewOrg:
    container: Container
    clock: FrozenClock
    fake_ad: FakeConnector | None  # None: the real Samba AD

    def start(self, definition: str = "quarterly") -> int:
        campaign = self.container.access_reviews.starter.start(
            definition, SECURITY_OFFICER.actor
        )
        return campaign.id or 0

    def reviews(self, campaign_id: int) -> list[Review]:
        with self.container.uow() as uow:
            return list(uow.reviews.for_campaign(campaign_id))

    def review_of(
        self, campaign_id: int, employee_id: str | None, department: str = "*"
    ) -> Review:
        """The review ``employee_id`` decides (of ``department``; None: the
        security officer's review of privileged access)."""
        found = [
            r
            for r in self.reviews(campaign_id)
            if r.reviewer_employee_id == employee_id
            and (employee_id is not None or r.department_code is None)
            and department in ("*", r.department_code)
        ]
        assert len(found) == 1, found
        return found[0]


def _request(
    container: Container, by: Principal, employee_id: str, item: str, **extra: object
) -> int:
    body = AccessRequestCreate.model_validate(
        {"employee_id": employee_id, "item": item, "justification": "project work"}
        | extra
    )
    request = container.access_requests.create(body, by)
    request = container.access_requests.approve(request["id"], SYSADMIN)
    if request["status"] == "pending":  # strictly confidential: the officer too
        request = container.access_requests.approve(request["id"], SECURITY_OFFICER)
    assert request["status"] == "approved", request
    return int(request["id"])


def _plant(
    container: Container, employee_id: str, ref: str, source: GrantSource
) -> None:
    """Access held outside every process: the kind a review must catch."""
    with container.uow() as uow:
        person = uow.persons.by_employee_id(employee_id)
        assert person is not None and person.id is not None
        uow.grants.add(
            Grant(
                person_id=person.id,
                entitlement_ref=ref,
                source=source,
                granted_at=uow.clock.now() - timedelta(days=400),
                reason="planted by the test",
            )
        )
        uow.commit()


def build_review_org(
    container: Container, clock: FrozenClock, fake_ad: FakeConnector | None
) -> ReviewOrg:
    """The organisation above; on the real AD (``fake_ad`` None) nobody's
    sign-ins are collected, so no item says "no sign-in for 90 days"."""
    hire_all(container, *_people())
    for code, employee_id in HEADS.items():
        container.departments.set_head(code, employee_id, SYSADMIN, "test")
    drain(container)
    clock.advance(timedelta(days=120))
    _request(container, head("S100"), "S101", "ad:GG-Engineering")
    _request(container, head("F200"), "S104", "ad:GG-Engineering")
    container.hr_intake.submit(
        HrEvent.model_validate(
            event("update", "S104", "move-S104", department="SALES", title="Staff")
        ),
        actor="test:hr",
    )
    review = container.mover_reviews.find(head("S100"))[0]
    container.mover_reviews.decide(review["id"], MoverDecision.KEEP, head("S100"), "ok")
    container.sod_exceptions.record(
        SodExceptionCreate(
            employee_id="F201",
            rule_id="payment-entry-vs-approval",
            reason="sole accountant in the branch office",
            end_date=date(2027, 6, 30),
        ),
        SECURITY_OFFICER,
    )
    _request(
        container,
        head("F200"),
        "F201",
        "ad:GG-Finance-Approvers",
        end_date="2027-05-31",
    )
    _plant(container, "F202", "ad:GG-Finance-Approvers", GrantSource.REQUEST)
    _plant(container, "I400", "ad:Domain Admins", GrantSource.ELEVATION)
    drain(container)
    if fake_ad is None:
        return ReviewOrg(container, clock, None)
    recent = clock.now() - timedelta(days=2)
    for state in fake_ad.iter_accounts():
        last = {"S102": None, "S103": clock.now() - timedelta(days=120)}.get(
            state.employee_id or "", recent
        )
        fake_ad.record_sign_in(state.ref.username, last)
    container.access_reviews.sign_ins.collect()
    return ReviewOrg(container, clock, fake_ad)


@pytest.fixture
def review_org(
    container: Container, clock: FrozenClock, fake_ad: FakeConnector
) -> ReviewOrg:
    return build_review_org(container, clock, fake_ad)
