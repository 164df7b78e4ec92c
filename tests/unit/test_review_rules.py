"""The review rules without a database: recommendations, who reviews what,
what a decision needs, when reminders are due, the schedule, the seal, and
the campaign policy's line-precise errors."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from iam_service.adapters.policy_files import PolicyError, load_policy
from iam_service.adapters.review_labels import LABELS
from iam_service.domain import review_rules as rules
from iam_service.domain.review_policy import CampaignDef, Every, OwnAccess, Schedule
from iam_service.domain.reviews import (
    Campaign,
    ItemDecision,
    Recommendation,
    Review,
    ReviewerKind,
    ReviewItem,
)
from iam_service.settings import REPO_ROOT
from iam_service.web.ui.i18n import catalogue

NOW = datetime(2026, 11, 25, 0, 30, tzinfo=UTC)
TOKYO = ZoneInfo("Asia/Tokyo")


def facts(**changes: object) -> rules.ItemFacts:
    values: dict[str, object] = {
        "privileged": False,
        "in_birthright": True,
        "requested_here": False,
        "sign_in_reported": True,
        "last_sign_in": NOW - timedelta(days=3),
        "account_created_at": NOW - timedelta(days=400),
        "sod": None,
    }
    values.update(changes)
    return rules.ItemFacts(**values)  # type: ignore[arg-type]


def recommend(**changes: object) -> list[Recommendation]:
    return rules.recommend(facts(**changes), NOW, 90)


def test_an_ordinary_birthright_grant_in_use_carries_no_recommendation() -> None:
    assert recommend() == []


def test_no_sign_in_for_more_than_the_threshold_recommends_revoking() -> None:
    assert recommend(last_sign_in=NOW - timedelta(days=91)) == [
        Recommendation.REVOKE_INACTIVE
    ]
    assert recommend(last_sign_in=NOW - timedelta(days=89)) == []


def test_an_old_account_that_never_signed_in_is_inactive_a_new_one_is_not() -> None:
    assert recommend(last_sign_in=None) == [Recommendation.REVOKE_INACTIVE]
    young = NOW - timedelta(days=10)
    assert recommend(last_sign_in=None, account_created_at=young) == []


def test_a_system_that_reports_no_sign_ins_is_never_guessed_inactive() -> None:
    assert recommend(sign_in_reported=False, last_sign_in=None) == []


def test_outside_birthright_is_flagged_unless_requested_in_this_department() -> None:
    assert recommend(in_birthright=False) == [Recommendation.LOOK_OUTSIDE_BIRTHRIGHT]
    assert recommend(in_birthright=False, requested_here=True) == []


def test_privileged_and_sod_findings_each_ask_for_a_look_strongest_first() -> None:
    found = recommend(
        privileged=True,
        in_birthright=False,
        sod="exception",
        last_sign_in=NOW - timedelta(days=200),
    )
    assert found == [
        Recommendation.REVOKE_INACTIVE,
        Recommendation.LOOK_OUTSIDE_BIRTHRIGHT,
        Recommendation.LOOK_PRIVILEGED,
        Recommendation.LOOK_SOD_EXCEPTION,
    ]
    assert recommend(sod="conflict") == [Recommendation.LOOK_SOD_CONFLICT]


def test_reasons_read_as_the_issue_words_them_in_both_languages() -> None:
    assert (
        rules.reason(Recommendation.REVOKE_INACTIVE, "en", days=90)
        == "revoke: no sign-in for 90 days"
    )
    assert rules.reason(Recommendation.LOOK_PRIVILEGED) == "look: privileged"
    assert "90日間" in rules.reason(Recommendation.REVOKE_INACTIVE, "ja", days=90)
    for rec in Recommendation:
        assert rec.i18n_key == f"reviews.recommendation.{rec.value}"
        assert rules.reason(rec, "ja") != rules.reason(rec, "en")


def test_members_go_to_the_head_and_the_head_to_their_manager() -> None:
    member = rules.route("E2", "E1", "E0", OwnAccess.MANAGER, "SALES")
    assert (member.kind, member.employee_id) == (ReviewerKind.DEPARTMENT_HEAD, "E1")
    own = rules.route("E1", "E1", "E0", OwnAccess.MANAGER, "SALES")
    assert (own.kind, own.employee_id) == (ReviewerKind.MANAGER, "E0")


def test_a_head_without_manager_or_a_headless_department_goes_to_the_officer() -> None:
    for subject, head, manager in (("E1", "E1", None), ("E2", None, None)):
        routed = rules.route(subject, head, manager, OwnAccess.MANAGER, "SALES")
        assert (routed.kind, routed.employee_id) == (
            ReviewerKind.SECURITY_OFFICER,
            None,
        )
    policy_says = rules.route("E1", "E1", "E0", OwnAccess.SECURITY_OFFICER, "SALES")
    assert policy_says.kind is ReviewerKind.SECURITY_OFFICER


def _item(employee_id: str = "E2") -> ReviewItem:
    return ReviewItem(
        campaign_id=1,
        review_id=1,
        grant_id=1,
        person_id=1,
        employee_id=employee_id,
        department_code="SALES",
        entitlement_ref="ad:GG-Sales",
        system_key="ad",
        grant_source="birthright",
        granted_at=NOW,
    )


def test_a_revoke_needs_a_comment_and_nobody_decides_their_own_access() -> None:
    with pytest.raises(rules.CommentRequired):
        rules.check_decision(_item(), ItemDecision.REVOKE, "  ", "E1")
    rules.check_decision(_item(), ItemDecision.REVOKE, "left the project", "E1")
    rules.check_decision(_item(), ItemDecision.KEEP, "", "E1")
    with pytest.raises(rules.OwnAccessRefused):
        rules.check_decision(_item("E1"), ItemDecision.KEEP, "", "E1")


def test_only_the_reviewer_acts_on_a_review_the_officers_review_any_officer() -> None:
    mine = Review(1, ReviewerKind.DEPARTMENT_HEAD, NOW, "SALES", "E1")
    rules.check_reviewer(mine, "E1", False)
    with pytest.raises(rules.NotYourReview):
        rules.check_reviewer(mine, "E9", True)
    officers = Review(1, ReviewerKind.SECURITY_OFFICER, NOW)
    rules.check_reviewer(officers, "E9", True)
    with pytest.raises(rules.NotYourReview):
        rules.check_reviewer(officers, "E9", False)


def _campaign(**definition: object) -> Campaign:
    d = CampaignDef.model_validate({"id": "q", "name": "Q", **definition})
    due = NOW + timedelta(days=d.due_days)
    return Campaign(
        definition_id="q",
        name="Q",
        period_key="q:1",
        started_at=NOW,
        started_by="test",
        due_at=due,
        closes_at=due + timedelta(days=d.close_after_due_days),
        definition=d.model_dump(mode="json"),
        catalogue={},
    )


def test_reminders_and_escalations_fall_due_in_order_and_stop_at_close() -> None:
    campaign = _campaign(
        due_days=14,
        reminders={"before_due_days": [7, 2], "escalate_after_due_days": [0, 3]},
        close_after_due_days=7,
    )
    names = lambda at: [s.name for s in rules.due_steps(campaign, at)]  # noqa: E731
    assert names(NOW) == []
    assert names(NOW + timedelta(days=8)) == ["remind-7d"]
    assert names(NOW + timedelta(days=13)) == ["remind-7d", "remind-2d"]
    assert names(NOW + timedelta(days=14)) == ["escalate-0d"]  # no reminder late
    assert names(NOW + timedelta(days=18))[-1] == "escalate-3d"
    assert names(NOW + timedelta(days=21)) == []  # closed: nothing more


def test_quarterly_starts_follow_the_anchor_on_the_calendar() -> None:
    schedule = Schedule(every=Every.QUARTER, anchor=date(2026, 1, 31), at="09:00")
    latest = schedule.latest_start(datetime(2026, 6, 1, tzinfo=UTC), TOKYO)
    assert latest == datetime(2026, 4, 30, 9, 0, tzinfo=TOKYO)
    assert schedule.next_start(latest, TOKYO) == datetime(
        2026, 7, 31, 9, 0, tzinfo=TOKYO
    )
    assert schedule.latest_start(datetime(2025, 12, 1, tzinfo=UTC), TOKYO) is None
    weekly = Schedule(every=Every.WEEK, anchor=date(2026, 1, 5))
    assert weekly.next_start(datetime(2026, 1, 6, tzinfo=UTC), TOKYO).day == 12


def test_the_seal_changes_when_any_decision_changes() -> None:
    rows = [{"id": 1, "decision": "keep", "comment": "", "decided_at": NOW}]
    sealed = rules.items_digest(rows)
    assert rules.items_digest([dict(rows[0])]) == sealed
    assert rules.items_digest([rows[0] | {"decision": "revoke"}]) != sealed
    assert rules.items_digest([rows[0] | {"comment": "x"}]) != sealed


POLICIES = REPO_ROOT / "policies"


def _policy_dir(tmp_path: Path, text: str) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(POLICIES, target)
    (target / "reviews.yaml").write_text(text)
    return target


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_the_shipped_policy_has_a_quarterly_campaign() -> None:
    reviews = load_policy(POLICIES).access_reviews
    quarterly = reviews.campaign("quarterly")
    assert quarterly is not None and quarterly.schedule is not None
    assert quarterly.schedule.every is Every.QUARTER
    assert reviews.recommendations.inactive_days == 90


@pytest.mark.parametrize(
    ("bad", "needle", "message"),
    [
        ("      due_dayz: 14", "due_dayz", "unknown key 'due_dayz'"),
        ("      undecided: forget", "undecided", "undecided"),
        ("      scope: {departments: [MARKETING]}", "MARKETING", "MARKETING"),
        (
            "      schedule: {every: quarter, anchor: 2026-01-06, at: 10:30}",
            "10:30",
            "at",
        ),
    ],
)
def test_a_mistake_in_the_campaign_policy_is_named_on_its_line(
    tmp_path: Path, bad: str, needle: str, message: str
) -> None:
    text = (
        "access_reviews:\n"
        "  campaigns:\n"
        "    - id: quarterly\n"
        "      name: Quarterly\n"
        f"{bad}\n"
    )
    with pytest.raises(PolicyError) as raised:
        load_policy(_policy_dir(tmp_path, text))
    problem = raised.value.problems[0]
    assert problem.file.endswith("reviews.yaml")
    assert problem.line == _line(text, needle)
    assert message in problem.message


def test_a_reminder_before_the_campaign_starts_is_refused() -> None:
    with pytest.raises(ValueError, match="before the campaign starts"):
        CampaignDef.model_validate(
            {
                "id": "q",
                "name": "Q",
                "due_days": 5,
                "reminders": {"before_due_days": [7]},
            }
        )


def test_the_console_catalogue_words_each_reason_as_the_domain_does() -> None:
    for language in ("ja", "en"):
        messages = catalogue(language)
        for rec in Recommendation:
            assert messages[rec.i18n_key].format(days=90) == rules.reason(
                rec, language, days=90
            )


def test_the_report_has_every_word_in_both_languages() -> None:
    assert set(LABELS["ja"]) == set(LABELS["en"])
