"""Property tests (hypothesis) of least privilege and segregation of duties
(5.3, 5.16, 5.18, 8.3), driving the real services on a SQLite file with the
fake connector through random policies and random sequences of hires,
transfers, terminations, requests, approvals, rejections, SoD exceptions and
their revocation, mover decisions, the movers' deadline job, policy version
activations, the passing of time and the grant expiry job. After every step:

* everyone's effective entitlements equal the birthright the active policy
  gives their current position plus the unexpired grants of their approved
  requests, and nothing else (a leaver holds nothing);
* nobody holds an SoD conflict without an unexpired, unrevoked exception;
* after the queue drains, the directory holds at least what is effective.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, settings
from hypothesis import event as note
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from connectors.fake import FakeConnector
from iam_service.bootstrap import Container
from iam_service.domain.access import (
    AccessRequestCreate,
    ItemKind,
    RequestStatus,
    SodExceptionCreate,
)
from iam_service.domain.clock import FrozenClock
from iam_service.domain.entitlements import (
    effective_entitlements,
    held_roles,
    sod_conflicts,
)
from iam_service.domain.hr import HrEvent
from iam_service.domain.model import GrantSource, GrantStatus, PersonStatus
from iam_service.domain.movers import MoverDecision, MoverReviewStatus
from iam_service.domain.security import Role
from iam_service.services import grant_expiry, movers
from iam_service.services.auth import Principal
from iam_service.services.errors import ServiceError
from tests.support.db import TestDatabase
from tests.support.service import START, build, drain, event, hire

GROUPS = [f"G{i}" for i in range(5)]  # G0: everyone's baseline
DEPARTMENTS = ["D0", "D1", "D2"]
TITLES = ["Staff", "Manager"]
WORKERS = [f"P{i}" for i in range(4)]
LEVELS = ["public", "internal", "strictly_confidential"]
ADMIN = Principal("adm", frozenset({Role.SYSADMIN}), "ADM")
OFFICER = Principal("sec", frozenset({Role.SECURITY_OFFICER}), "SEC")
READER = Principal("aud", frozenset({Role.AUDITOR}))


def head(department: str) -> Principal:
    return Principal(
        f"head-{department}", frozenset({Role.DEPARTMENT_HEAD}), f"H{department}"
    )


# -- random policies ------------------------------------------------------------
@dataclass(frozen=True)
class Rules:
    """The part of a policy that differs between versions A and B."""

    department_roles: tuple[frozenset[int], ...]
    manager_roles: tuple[frozenset[int], ...]
    sod_pairs: tuple[tuple[int, int, bool], ...]  # (a, b, as roles)
    mover_days: int

    def born(self, department: int, manager: bool) -> set[int]:
        given = {0} | self.department_roles[department]
        return given | (self.manager_roles[department] if manager else set())

    def consistent_pairs(self) -> list[tuple[int, int, bool]]:
        """The SoD pairs no birthright position breaks (others are dropped:
        the loader refuses them, as the policy tests show)."""
        positions = [self.born(d, m) for d in range(3) for m in (False, True)]
        return [
            p for p in self.sod_pairs if not any({p[0], p[1]} <= b for b in positions)
        ]


role_sets = st.frozensets(st.integers(1, 4), max_size=2)
rules_strategy = st.builds(
    Rules,
    department_roles=st.tuples(role_sets, role_sets, role_sets),
    manager_roles=st.tuples(*[st.frozensets(st.integers(1, 4), max_size=1)] * 3),
    sod_pairs=st.lists(
        st.tuples(st.integers(1, 4), st.integers(1, 4), st.booleans()).filter(
            lambda p: p[0] < p[1]
        ),
        max_size=3,
        unique_by=lambda p: (p[0], p[1]),
    ).map(tuple),
    mover_days=st.integers(1, 5),
)
catalogue_strategy = st.tuples(
    st.lists(st.sampled_from(LEVELS), min_size=5, max_size=5),
    st.lists(st.booleans(), min_size=5, max_size=5),
    st.lists(st.sampled_from([None, 3, 30]), min_size=5, max_size=5),
)


def write_policy(directory: Path, catalogue: Any, rules: Rules) -> Path:
    levels, privileged, max_days = catalogue
    entitlements = []
    for i, group in enumerate(GROUPS):
        entry: dict[str, Any] = {
            "ref": f"ad:{group}",
            "name": f"Group {i}",
            "classification": levels[i],
            "privileged": privileged[i],
            "requestable": i != 0,
        }
        if max_days[i]:
            entry["max_duration_days"] = max_days[i]
        entitlements.append(entry)
    roles = [
        {"id": f"r{i}", "name": f"Role {i}", "entitlements": [f"ad:{g}"]}
        for i, g in enumerate(GROUPS)
    ]
    roles[0] |= {"accounts": ["ad"], "requestable": False}
    birthright: list[dict[str, Any]] = [{"when": {"department": "*"}, "roles": ["r0"]}]
    for d, code in enumerate(DEPARTMENTS):
        if rules.department_roles[d]:
            birthright.append(
                {
                    "when": {"department": code},
                    "roles": [f"r{i}" for i in sorted(rules.department_roles[d])],
                }
            )
        if rules.manager_roles[d]:
            birthright.append(
                {
                    "when": {"department": code, "titles": ["Manager"]},
                    "roles": [f"r{i}" for i in sorted(rules.manager_roles[d])],
                }
            )
    sod = []
    for a, b, as_roles in rules.consistent_pairs():
        members = (
            {"roles": [f"r{a}", f"r{b}"]}
            if as_roles
            else {"entitlements": [f"ad:{GROUPS[a]}", f"ad:{GROUPS[b]}"]}
        )
        sod.append(
            {"id": f"sod-{a}-{b}", "name": f"{a} vs {b}", "reason": "5.3"} | members
        )
    directory.mkdir(parents=True)
    files = {
        "catalogue.yaml": {"entitlements": entitlements, "roles": roles},
        "birthright.yaml": {
            "departments": [{"code": c, "name": c} for c in DEPARTMENTS],
            "birthright": birthright,
        },
        "access.yaml": {
            "sod_rules": sod,
            "settings": {
                "mover_review_days": rules.mover_days,
                "removal_share_needing_security_officer": 1.0,
            },
        },
    }
    for name, data in files.items():
        (directory / name).write_text(yaml.safe_dump(data), encoding="utf-8")
    return directory


# -- the machine ----------------------------------------------------------------
class LeastPrivilege(RuleBasedStateMachine):
    template: Path
    workspace: Path
    runs = itertools.count()

    def __init__(self) -> None:
        super().__init__()
        self.events = itertools.count()
        self.container: Container | None = None

    @initialize(
        catalogue=catalogue_strategy,
        a=rules_strategy,
        b=rules_strategy,
        places=st.lists(
            st.tuples(st.sampled_from(DEPARTMENTS), st.sampled_from(TITLES)),
            min_size=len(WORKERS),
            max_size=len(WORKERS),
        ),
    )
    def start(
        self, catalogue: Any, a: Rules, b: Rules, places: list[tuple[str, str]]
    ) -> None:
        run = self.workspace / f"run{next(self.runs)}"
        self.policies = [
            write_policy(run / "a", catalogue, a),
            write_policy(run / "b", catalogue, b),
        ]
        self.active = 0
        shutil.copy(self.template, run / "iam.db")
        self.clock = FrozenClock(START)
        self.fake = FakeConnector(system_id="ad", known_groups=set(GROUPS))
        self.container = build(
            TestDatabase(f"sqlite:///{run / 'iam.db'}"),
            {"ad": self.fake},
            self.clock,
            policy_dir=self.policies[0],
            policy_cache_seconds=0,
        )
        for code in DEPARTMENTS:
            self._hr(hire(f"H{code}", code, "Head", event_id=f"hire-H{code}"))
            self.c.departments.set_head(code, f"H{code}", ADMIN)
        for who, (department, title) in zip(WORKERS, places, strict=True):
            self._hr(hire(who, department, title, event_id=f"hire-{who}"))

    def teardown(self) -> None:
        if self.container is not None:
            self.container.close()

    @property
    def c(self) -> Container:
        assert self.container is not None
        return self.container

    def _hr(self, body: dict[str, Any]) -> None:
        self.c.hr_intake.submit(HrEvent.model_validate(body), actor="test:hr")

    def _status(self, employee_id: str) -> PersonStatus | None:
        with self.c.uow() as uow:
            person = uow.persons.by_employee_id(employee_id)
            return person.status if person else None

    # -- HR --------------------------------------------------------------------
    @rule(
        who=st.sampled_from(WORKERS),
        department=st.sampled_from(DEPARTMENTS),
        title=st.sampled_from(TITLES),
    )
    def rehire(self, who: str, department: str, title: str) -> None:
        n = next(self.events)
        if self._status(who) is PersonStatus.TERMINATED:
            self._hr(
                event(
                    "rehire",
                    who,
                    f"e{n}",
                    given_name="Taro",
                    family_name=f"Test{who}",
                    email=f"{who.lower()}@example.test",
                    department=department,
                    title=title,
                )
            )

    @rule(
        who=st.sampled_from(WORKERS),
        department=st.sampled_from(DEPARTMENTS),
        title=st.sampled_from(TITLES),
    )
    def transfer(self, who: str, department: str, title: str) -> None:
        if self._status(who) is PersonStatus.ACTIVE:
            n = next(self.events)
            self._hr(event("update", who, f"e{n}", department=department, title=title))

    @rule(
        k=st.integers(0, 10),
        title=st.sampled_from(TITLES),
        decisions=st.lists(st.sampled_from([None, *MoverDecision]), max_size=3),
    )
    def move_someone_holding_requested_grants(
        self, k: int, title: str, decisions: list[MoverDecision | None]
    ) -> None:
        """Aim at movers: then the new head decides some of the reviews."""
        approved = self.c.access_requests.find(READER, status=RequestStatus.APPROVED)
        if not approved:
            return
        request = approved[k % len(approved)]
        others = [d for d in DEPARTMENTS if d != request["department"]]
        self.transfer(request["employee_id"], others[k % 2], title)
        reviews = self.c.mover_reviews.find(READER, MoverReviewStatus.OPEN)
        for review, decision in zip(reviews, decisions, strict=False):
            if decision is not None:
                self._decide(review, decision)

    @rule(who=st.sampled_from(WORKERS))
    def terminate(self, who: str) -> None:
        if self._status(who) is PersonStatus.ACTIVE:
            self._hr(event("terminate", who, f"e{next(self.events)}"))

    # -- requests --------------------------------------------------------------
    @rule(
        who=st.sampled_from(WORKERS),
        group=st.integers(1, 4),
        as_role=st.booleans(),
        days=st.sampled_from([None, 1, 2, 20]),
    )
    def request(self, who: str, group: int, as_role: bool, days: int | None) -> None:
        self._ask(who, group, as_role, days)

    @rule(
        who=st.sampled_from(WORKERS),
        group=st.integers(1, 4),
        as_role=st.booleans(),
        days=st.sampled_from([None, 1, 2, 20]),
    )
    def request_and_approve_every_step(
        self, who: str, group: int, as_role: bool, days: int | None
    ) -> None:
        request = self._ask(who, group, as_role, days)
        if request is not None:
            self._approve(request, steps=3)

    def _members(self, k: int) -> tuple[str, list[int]] | None:
        rules = self.c.policy().sod_rules
        if not rules:
            return None
        rule_ = rules[k % len(rules)]
        members = [int(r[1:]) for r in rule_.roles] or [
            GROUPS.index(e.removeprefix("ad:")) for e in rule_.entitlements
        ]
        return rule_.id, members

    @rule(who=st.sampled_from(WORKERS), k=st.integers(0, 5), first=st.booleans())
    def request_a_member_of_an_sod_rule(self, who: str, k: int, first: bool) -> None:
        """Aim at the rules: one member now, maybe the other by a transfer."""
        found = self._members(k)
        if found:
            request = self._ask(who, found[1][0 if first else -1], False, 20)
            if request is not None:
                self._approve(request, steps=3)

    @rule(who=st.sampled_from(WORKERS), k=st.integers(0, 5))
    def hold_both_members_under_an_exception(self, who: str, k: int) -> None:
        """The exception lasts 2 days, the requests 20: time will tell."""
        found = self._members(k)
        if found:
            self._except(who, found[0])
            for group in found[1]:
                request = self._ask(who, group, False, 20)
                if request is not None:
                    self._approve(request, steps=3)

    def _ask(
        self, who: str, group: int, as_role: bool, days: int | None
    ) -> dict[str, Any] | None:
        body = AccessRequestCreate(
            employee_id=who,
            kind=ItemKind.ROLE if as_role else ItemKind.ENTITLEMENT,
            item=f"r{group}" if as_role else f"ad:{GROUPS[group]}",
            justification="property test",
            end_date=(self.clock.now() + timedelta(days=days)).date() if days else None,
        )
        try:
            request = self.c.access_requests.create(
                body, Principal(who, frozenset(), who)
            )
        except ServiceError as error:  # refused requests write nothing
            note(f"request refused: {error.code}")
            return None
        note("request created")
        return request

    def _pending(self, k: int) -> dict[str, Any] | None:
        found = self.c.access_requests.find(READER, status=RequestStatus.PENDING)
        return found[k % len(found)] if found else None

    @rule(k=st.integers(0, 10), steps=st.integers(1, 3))
    def approve(self, k: int, steps: int) -> None:
        self._approve(self._pending(k), steps)

    def _approve(self, request: dict[str, Any] | None, steps: int) -> None:
        for _ in range(steps):
            if request is None or request["status"] != "pending":
                return
            decider = {
                "department_head": head(request["department"]),
                "sysadmin": ADMIN,
                "security_officer": OFFICER,
            }[request["waiting_for"]]
            try:
                request = self.c.access_requests.approve(request["id"], decider)
            except ServiceError as error:  # SoD at the last step, a leaver, ...
                note(f"approval refused: {error.code}")
                return
            if request["status"] == "approved":
                note("request approved")

    @rule(k=st.integers(0, 10))
    def reject(self, k: int) -> None:
        request = self._pending(k)
        if request is not None and request["waiting_for"] == "sysadmin":
            self.c.access_requests.reject(request["id"], ADMIN, "not needed")

    # -- exceptions ------------------------------------------------------------
    @rule(who=st.sampled_from(WORKERS), k=st.integers(0, 5))
    def record_exception(self, who: str, k: int) -> None:
        rules = self.c.policy().sod_rules
        if rules:
            self._except(who, rules[k % len(rules)].id)

    def _except(self, who: str, rule_id: str) -> None:
        body = SodExceptionCreate(
            employee_id=who,
            rule_id=rule_id,
            reason="property test",
            end_date=(self.clock.now() + timedelta(days=2)).date(),
        )
        try:
            self.c.sod_exceptions.record(body, OFFICER)
            note("exception recorded")
        except ServiceError as error:
            note(f"exception refused: {error.code}")

    @rule(k=st.integers(0, 10))
    def revoke_exception(self, k: int) -> None:
        live = [e for e in self.c.sod_exceptions.find() if not e["revoked_at"]]
        if live:
            self.c.sod_exceptions.revoke(live[k % len(live)]["id"], OFFICER, "over")

    # -- movers ----------------------------------------------------------------
    @rule(k=st.integers(0, 10), keep=st.booleans())
    def mover_decision(self, k: int, keep: bool) -> None:
        reviews = self.c.mover_reviews.find(READER, MoverReviewStatus.OPEN)
        if reviews:
            decision = MoverDecision.KEEP if keep else MoverDecision.REMOVE
            self._decide(reviews[k % len(reviews)], decision)

    def _decide(self, review: dict[str, Any], decision: MoverDecision) -> None:
        self.c.mover_reviews.decide(
            review["id"], decision, head(str(review["to_department"])), "decided"
        )
        note(f"mover review: {decision}")

    @rule()
    def mover_deadline_job(self) -> None:
        if movers.remove_undecided(self.c.uow, self.c.lifecycle):
            note("mover grants removed at the deadline")

    # -- policy and time -------------------------------------------------------
    @rule()
    def activate_the_other_policy(self) -> None:
        directory = self.policies[1 - self.active]
        files = {p.name: p.read_text() for p in directory.glob("*.yaml")}
        try:
            proposal = self.c.policy_versions.propose(files, actor="cli:adm")
            self.c.policy_versions.activate(
                proposal.version.id or 0,
                approver="sec",
                roles=frozenset({Role.SECURITY_OFFICER}),
            )
        except ServiceError as error:  # it would create an SoD conflict
            note(f"activation refused: {error.code}")
            return
        note("policy activated")
        self.active = 1 - self.active

    @rule(hours=st.sampled_from([1, 12, 25, 24 * 6]), expire=st.booleans())
    def time_passes(self, hours: int, expire: bool) -> None:
        self.clock.advance(timedelta(hours=hours))
        if expire:  # the other half of the time the job has not run yet
            grant_expiry.expire_grants(self.c.uow, self.c.lifecycle)

    # -- the properties --------------------------------------------------------
    def _holdings(self) -> Iterator[tuple[Any, set[str], set[str], list[Any]]]:
        """Per person: the person, effective refs, expected refs, exceptions."""
        policy = self.c.policy()
        now = self.clock.now()
        with self.c.uow() as uow:
            for person in uow.persons.all():
                grants = uow.grants.active_for_person(person.id or 0)
                effective = set(effective_entitlements(grants, now))
                expected: set[str] = set()
                if person.status is not PersonStatus.TERMINATED:
                    expected = set(
                        policy.birthright_for(
                            person.department_code, person.title, person.employment_type
                        ).entitlements
                    )
                for grant in grants:
                    if grant.source is GrantSource.BIRTHRIGHT or not grant.is_effective(
                        now
                    ):
                        continue
                    assert grant.source is GrantSource.REQUEST, grant
                    request = uow.access_requests.get(int(grant.source_ref or 0))
                    assert request is not None and request.person_id == person.id
                    assert request.status is RequestStatus.APPROVED
                    assert grant.entitlement_ref in request.entitlement_refs
                    assert request.ends_at is None or (
                        grant.expires_at is not None
                        and grant.expires_at <= request.ends_at
                    )
                    expected.add(grant.entitlement_ref)
                exceptions = uow.sod_exceptions.for_person(person.id or 0)
                yield person, effective, expected, exceptions

    @invariant()
    def effective_is_birthright_plus_approved_unexpired_grants(self) -> None:
        if self.container is None:
            return
        for person, effective, expected, _ in self._holdings():
            assert effective == expected, (person.employee_id, person.status)
            if person.status is PersonStatus.TERMINATED:
                assert not effective

    @invariant()
    def what_a_head_removed_or_nobody_kept_in_time_is_gone(self) -> None:
        if self.container is None:
            return
        with self.c.uow() as uow:
            for review in uow.mover_reviews.find():
                grant = uow.grants.get(review.grant_id)
                assert grant is not None
                if review.status in (
                    MoverReviewStatus.REMOVED,
                    MoverReviewStatus.EXPIRED,
                ):
                    assert grant.status is GrantStatus.REMOVED, review

    @invariant()
    def no_sod_conflict_without_a_live_exception(self) -> None:
        if self.container is None:
            return
        policy, now = self.c.policy(), self.clock.now()
        for person, effective, _, exceptions in self._holdings():
            conflicts = sod_conflicts(
                effective,
                held_roles(effective, policy),
                policy.sod_rules,
                exceptions,
                now,
            )
            assert not conflicts, (person.employee_id, conflicts)

    @invariant()
    def the_directory_holds_what_is_effective(self) -> None:
        if self.container is None:
            return
        drain(self.c)
        for person, effective, _, _ in self._holdings():
            if person.status is PersonStatus.TERMINATED:
                continue
            account = self.fake.find_account(employee_id=person.employee_id)
            assert account is not None
            wanted = {ref.removeprefix("ad:") for ref in effective}
            assert wanted <= set(account.groups), (person.employee_id, account.groups)


def test_least_privilege_holds_over_random_policies_and_event_sequences(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    LeastPrivilege.template = sqlite_template
    LeastPrivilege.workspace = tmp_path_factory.mktemp("least-privilege")
    run_state_machine_as_test(
        LeastPrivilege,
        settings=settings(
            max_examples=30,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
