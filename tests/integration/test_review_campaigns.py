"""Starting access review campaigns (5.18) on SQLite and PostgreSQL: who
reviews what, the context and recommendation of each item, the scheduler
starting each occurrence once, and the migration matching the tables."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from iam_service.adapters import orm
from iam_service.adapters.database import make_engine
from iam_service.adapters.orm_reviews import review_items, sign_in_activity
from iam_service.bootstrap import Container
from iam_service.domain.review_rules import ItemFacts, recommend
from iam_service.domain.reviews import ItemFilter, Recommendation, ReviewerKind
from iam_service.services.errors import ConflictError, NotFoundError
from jobs.scheduler import JOBS, run_exclusive
from tests.support.access import hire_all, staff
from tests.support.db import TestDatabase
from tests.support.reviews import SECURITY_OFFICER, ReviewOrg
from tests.support.service import drain

pytestmark = pytest.mark.slow


def _items(org: ReviewOrg, review_id: int) -> dict[tuple[str, str], dict[str, object]]:
    page = org.container.access_reviews.views.items(
        review_id, SECURITY_OFFICER, ItemFilter(status="all", per_page=200)
    )
    return {(i["employee_id"], i["entitlement"]["ref"]): i for i in page["items"]}


def _codes(item: dict[str, object]) -> list[str]:
    return [r["code"] for r in item["recommendations"]]  # type: ignore[attr-defined]


def test_each_head_reviews_their_members_and_nobody_their_own_access(
    review_org: ReviewOrg,
) -> None:
    campaign = review_org.start()
    sales = _items(review_org, review_org.review_of(campaign, "S100").id or 0)
    assert {e for e, _ in sales} == {"S101", "S102", "S103", "S104"}
    # The head's own access goes to the head's manager (5.3).
    manager_reviews = [
        r
        for r in review_org.reviews(campaign)
        if r.reviewer_kind is ReviewerKind.MANAGER and r.department_code == "SALES"
    ]
    assert len(manager_reviews) == 1
    assert manager_reviews[0].reviewer_employee_id == "G300"
    heads_own = _items(review_org, manager_reviews[0].id or 0)
    assert {e for e, _ in heads_own} == {"S100"}


def test_privileged_access_is_also_before_the_security_officer(
    review_org: ReviewOrg,
) -> None:
    campaign = review_org.start()
    officer = review_org.review_of(campaign, None)
    assert officer.reviewer_kind is ReviewerKind.SECURITY_OFFICER
    assert set(_items(review_org, officer.id or 0)) == {("I400", "ad:Domain Admins")}
    it_head = _items(review_org, review_org.review_of(campaign, "I401").id or 0)
    assert ("I400", "ad:Domain Admins") in it_head


def test_a_department_without_a_head_goes_to_the_security_officer(
    review_org: ReviewOrg,
) -> None:
    campaign = review_org.start()
    eng = [r for r in review_org.reviews(campaign) if r.department_code == "ENG"]
    assert [(r.reviewer_kind, r.reviewer_employee_id) for r in eng] == [
        (ReviewerKind.SECURITY_OFFICER, None)
    ]
    assert "no head" in eng[0].note


def test_items_carry_where_they_came_from_last_sign_in_and_a_reason(
    review_org: ReviewOrg,
) -> None:
    campaign = review_org.start()
    sales = _items(review_org, review_org.review_of(campaign, "S100").id or 0)
    requested = sales[("S101", "ad:GG-Engineering")]
    assert _codes(requested) == []  # asked for and approved in SALES
    request = requested["source"]["request"]  # type: ignore[index]
    assert request["department"] == "SALES"
    assert [a["as"] for a in request["approvers"]] == ["department_head", "sysadmin"]
    assert requested["entitlement"]["name"] == "Engineering"  # type: ignore[index]
    assert requested["entitlement"]["description"]  # type: ignore[index]
    leftover = sales[("S104", "ad:GG-Engineering")]
    assert _codes(leftover) == ["look_outside_birthright"]
    assert leftover["source"]["request"]["department"] == "FIN"  # type: ignore[index]
    for idle in ("S102", "S103"):
        item = sales[(idle, "ad:GG-Sales")]
        assert _codes(item) == ["revoke_inactive"]
        assert item["recommendations"][0]["text"] == "revoke: no sign-in for 90 days"  # type: ignore[index]
    assert sales[("S102", "ad:GG-Sales")]["last_sign_in"] == {
        "reported": True,
        "at": None,
    }
    fin = _items(review_org, review_org.review_of(campaign, "F200").id or 0)
    assert _codes(fin[("F201", "ad:GG-Finance-Approvers")]) == ["look_sod_exception"]
    assert _codes(fin[("F201", "ad:GG-Finance")]) == ["look_sod_exception"]
    assert "look_sod_conflict" in _codes(fin[("F202", "ad:GG-Finance-Approvers")])
    it = _items(review_org, review_org.review_of(campaign, "I401").id or 0)
    assert _codes(it[("I400", "ad:Domain Admins")]) == [
        "look_outside_birthright",
        "look_privileged",
    ]


def test_the_bulk_insert_recommends_exactly_what_the_domain_rule_says(
    review_org: ReviewOrg,
) -> None:
    """The SQL copy of the rules (adapters/review_items_sql.py) and
    ``domain.review_rules.recommend`` agree on every item."""
    campaign_id = review_org.start()
    container = review_org.container
    with container.uow() as uow:
        campaign = uow.campaigns.get(campaign_id)
        assert campaign is not None
        rows = uow.session.execute(
            select(review_items).where(review_items.c.campaign_id == campaign_id)
        ).all()
        assert rows
        for row in rows:
            account = next(
                a
                for a in uow.accounts.for_person(row.person_id)
                if a.system_key == "ad"
            )
            signed = uow.session.execute(
                select(sign_in_activity).where(
                    sign_in_activity.c.account_id == account.id
                )
            ).first()
            grant = uow.grants.get(row.grant_id)
            assert grant is not None
            person = uow.persons.get(row.person_id)
            assert person is not None
            request = (
                uow.access_requests.get(int(grant.source_ref))
                if grant.source == "request" and (grant.source_ref or "").isdigit()
                else None
            )
            facts = ItemFacts(
                privileged=row.privileged,
                in_birthright=row.entitlement_ref
                in container.policy()
                .birthright_for(
                    person.department_code, person.title, person.employment_type
                )
                .entitlements,
                requested_here=request is not None
                and request.department_code == person.department_code,
                sign_in_reported=signed is not None,
                last_sign_in=signed.last_sign_in_at if signed else None,
                account_created_at=account.created_at,
                sod=row.sod,
            )
            expected = recommend(facts, campaign.started_at, campaign.inactive_days)
            stored = [Recommendation(c) for c in row.recommendations.split(",") if c]
            assert stored == expected, (row.employee_id, row.entitlement_ref)


def test_a_second_open_campaign_of_the_same_kind_is_refused(
    review_org: ReviewOrg,
) -> None:
    review_org.start()
    with pytest.raises(ConflictError, match="still open"):
        review_org.start()
    with pytest.raises(NotFoundError):
        review_org.start("annual")


def test_the_scheduler_starts_each_occurrence_once(
    container: Container, review_org: ReviewOrg
) -> None:
    job = next(j for j in JOBS if j.name == "start_review_campaigns")
    review_org.clock.set(datetime(2027, 4, 6, 0, 0, tzinfo=UTC))  # 09:00 Tokyo
    assert run_exclusive(container, job)
    assert run_exclusive(container, job)  # the second tick starts nothing
    campaigns = container.access_reviews.views.campaigns(SECURITY_OFFICER)
    assert [(c["definition"], c["started_at"]) for c in campaigns] == [
        ("quarterly", "2027-04-06T00:00:00+00:00")
    ]
    assert campaigns[0]["progress"]["total"] == campaigns[0]["items_total"] > 0
    with container.uow() as uow:
        period = uow.campaigns.find()[0].period_key
    assert period == "quarterly:2027-04-06T09:00:00+09:00"


def test_a_start_older_than_its_due_time_is_not_started_late(
    container: Container, review_org: ReviewOrg
) -> None:
    review_org.clock.set(datetime(2027, 4, 6, 0, 0, tzinfo=UTC) + timedelta(days=15))
    assert container.access_reviews.starter.start_due() == []


def _only(tables: tuple[str, ...]) -> Callable[..., bool]:
    def include(obj: Any, _name: Any, kind: str, *_: Any) -> bool:
        table = obj if kind == "table" else getattr(obj, "table", None)
        return table is None or table.name in tables

    return include


def test_the_migration_creates_the_tables_as_mapped(database: TestDatabase) -> None:
    engine = make_engine(database.url, schema=database.schema)
    orm.load_areas()
    mine = ("review_campaigns", "campaign_reviews", "review_items")
    mine += ("review_delegations", "sign_in_activity")
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={"include_object": _only(mine), "compare_type": True},
            )
            differences = compare_metadata(context, orm.metadata)
    finally:
        engine.dispose()
    assert differences == []


@pytest.mark.samba
def test_last_sign_ins_are_collected_from_samba_ad(ad_service: Container) -> None:
    """The job reads each AD account's lastLogonTimestamp (none yet for new
    accounts): every account is then "reported", so the campaign can judge
    inactivity without calling AD itself."""
    hire_all(ad_service, staff("R100", "SALES"), staff("R101", "SALES"))
    drain(ad_service)
    stored = ad_service.access_reviews.sign_ins.collect()
    assert stored == {"ad": 2}
    with ad_service.uow() as uow:
        rows = uow.session.execute(select(sign_in_activity)).all()
    assert len(rows) == 2
    assert {r.system_key for r in rows} == {"ad"}
