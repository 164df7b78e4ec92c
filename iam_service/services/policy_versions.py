"""Policy changes are changes (8.32): plan, propose, approve, activate.

* ``plan(files)`` computes, for the whole population, what would be granted
  and removed if the files became the active policy; it writes nothing.
* ``propose(files)`` validates and stores a version with its plan's summary;
  a version removing access from more than the policy's
  ``removal_share_needing_security_officer`` needs the security officer.
* ``activate(id)`` is the approval: by someone other than the proposer
  (5.3), in the security officer role where needed. It re-plans against the
  population as it is now, records the approver and the diff, supersedes
  the previous version and applies the new birthright to everyone through
  the operation queue, in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from iam_service.adapters.policy_files import PolicyError, load_policy_texts
from iam_service.domain.policy import Policy
from iam_service.domain.policy_plan import PolicyPlan, plan_policy
from iam_service.domain.policy_versions import (
    ApprovalRefused,
    PolicyVersion,
    VersionState,
    check_approver,
    content_hash,
)
from iam_service.domain.security import Role
from iam_service.services import lifecycle
from iam_service.services.active_policy import ActivePolicy
from iam_service.services.errors import ConflictError, Forbidden, NotFoundError
from iam_service.services.errors import InvalidInput as _InvalidInput
from iam_service.services.lifecycle import LifecycleContext
from iam_service.services.provisioning import Provisioner
from iam_service.services.unit_of_work import UnitOfWork, UnitOfWorkFactory


class PolicyInvalid(_InvalidInput):
    """The files do not validate; ``problems`` say where (file:line)."""

    code = "policy_invalid"

    def __init__(self, error: PolicyError) -> None:
        super().__init__(str(error), field="files")
        self.problems = [str(p) for p in error.problems]


class SodConflictsError(ConflictError):
    code = "sod_conflict"


@dataclass(frozen=True)
class Proposal:
    version: PolicyVersion
    plan: PolicyPlan


def parse(files: Mapping[str, str]) -> Policy:
    try:
        return load_policy_texts(files)
    except PolicyError as error:
        raise PolicyInvalid(error) from None


class PolicyVersions:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        active: ActivePolicy,
        ctx: LifecycleContext,
    ) -> None:
        self.uow_factory = uow_factory
        self.active = active
        self.ctx = ctx

    # -- reading ----------------------------------------------------------
    def plan(self, files: Mapping[str, str]) -> PolicyPlan:
        """What activating ``files`` would change now (writes nothing)."""
        policy = parse(files)
        with self.uow_factory() as uow:
            return self._plan(uow, policy)

    def versions(self) -> list[PolicyVersion]:
        with self.uow_factory() as uow:
            return list(uow.policy_versions.all())

    def get(self, version_id: int) -> PolicyVersion:
        with self.uow_factory() as uow:
            version = uow.policy_versions.get(version_id)
            if version is None:
                raise NotFoundError(f"no policy version {version_id}")
            return version

    # -- changing ---------------------------------------------------------
    def propose(
        self, files: Mapping[str, str], *, actor: str, reason: str = ""
    ) -> Proposal:
        """Store ``files`` as a proposed version (the same proposal again
        returns the pending one); the active content is refused."""
        policy = parse(files)
        digest = content_hash(files)
        with self.uow_factory() as uow:
            active = uow.policy_versions.active()
            if active is not None and active.content_hash == digest:
                raise ConflictError(f"this policy is already active (v{active.id})")
            plan = self._plan(uow, policy)
            pending = next(
                (
                    v
                    for v in uow.policy_versions.all()
                    if v.state is VersionState.PROPOSED and v.content_hash == digest
                ),
                None,
            )
            if pending is not None:
                return Proposal(pending, plan)
            version = PolicyVersion(
                content_hash=digest,
                files=dict(files),
                proposed_by=actor,
                proposed_at=uow.clock.now(),
                reason=reason,
            )
            _set_plan(version, plan, policy)
            uow.policy_versions.add(version)
            uow.flush()
            uow.record(
                actor,
                "policy.proposed",
                f"policy:v{version.id}",
                after={"content_hash": digest, "diff": _brief(plan)},
                reason=reason,
            )
            uow.commit()
            return Proposal(version, plan)

    def activate(
        self,
        version_id: int,
        *,
        approver: str,
        roles: frozenset[Role],
        reason: str = "",
    ) -> Proposal:
        """Approve and activate a proposed version (see the module doc)."""
        old_policy = self.active()  # before the transaction: it reads too
        with self.uow_factory() as uow:
            version = self._proposed(uow, version_id)
            policy = parse(version.files)
            plan = self._plan(uow, policy)
            _set_plan(version, plan, policy)
            try:
                role = check_approver(version, approver, roles)
            except ApprovalRefused as error:
                raise Forbidden(str(error)) from None
            if plan.conflicts:
                listed = ", ".join(f"{e} ({r})" for e, r in plan.conflicts[:10])
                raise SodConflictsError(
                    f"activating v{version_id} would create SoD conflicts for "
                    f"{listed}; remove those grants or record exceptions first (5.3)"
                )
            previous = uow.policy_versions.active()
            if previous is not None:
                previous.state = VersionState.SUPERSEDED
                uow.flush()  # one active version at a time (unique index)
            now = uow.clock.now()
            version.state, version.approved_by = VersionState.ACTIVE, approver
            version.approver_role, version.decision_reason = str(role), reason
            version.approved_at = version.activated_at = now
            uow.flush()
            uow.record(
                approver,
                "policy.activated",
                f"policy:v{version.id}",
                before={"version": previous.id if previous else None},
                after={
                    "content_hash": version.content_hash,
                    "approver_role": str(role),
                    "diff": version.diff,
                },
                reason=reason,
            )
            self._apply(uow, version, policy, old_policy, plan)
            uow.commit()
        self.active.invalidate()
        return Proposal(version, plan)

    def reject(self, version_id: int, *, actor: str, reason: str) -> PolicyVersion:
        with self.uow_factory() as uow:
            version = self._proposed(uow, version_id)
            version.state, version.decision_reason = VersionState.REJECTED, reason
            version.approved_by, version.approved_at = actor, uow.clock.now()
            uow.record(actor, "policy.rejected", f"policy:v{version_id}", reason=reason)
            uow.commit()
            return version

    # -- helpers ----------------------------------------------------------
    def _plan(self, uow: UnitOfWork, policy: Policy) -> PolicyPlan:
        return plan_policy(uow.policy_versions.population(), policy, uow.clock.now())

    @staticmethod
    def _proposed(uow: UnitOfWork, version_id: int) -> PolicyVersion:
        version = uow.policy_versions.get(version_id, lock=True)
        if version is None:
            raise NotFoundError(f"no policy version {version_id}")
        if version.state is not VersionState.PROPOSED:
            raise ConflictError(f"policy version {version_id} is {version.state}")
        return version

    def _apply(
        self,
        uow: UnitOfWork,
        version: PolicyVersion,
        policy: Policy,
        old: Policy,
        plan: PolicyPlan,
    ) -> None:
        """The new birthright for everyone it changes, through the queue."""
        actor, cause = f"policy:v{version.id}", f"policy:v{version.id}"
        _sync_department_heads(uow, policy, old, actor)
        moved = {
            d.code
            for d in (*policy.departments, *old.departments)
            if policy.knows_department(d.code) != old.knows_department(d.code)
        }
        provisioner = Provisioner(
            uow, policy, self.ctx.systems, actor=actor, cause=cause
        )
        for employee_id in plan.resync:
            person = uow.persons.by_employee_id(employee_id)
            if person is None:
                continue
            if person.department_code in moved:
                lifecycle.place_in_department(
                    uow, person, policy, actor=actor, cause=cause
                )
            provisioner.sync_birthright(
                person,
                policy.birthright_for(
                    person.department_code, person.title, person.employment_type
                ),
            )


def _set_plan(version: PolicyVersion, plan: PolicyPlan, policy: Policy) -> None:
    version.diff = plan.summary()
    share = policy.settings.removal_share_needing_security_officer
    version.needs_security_officer = plan.removal_share > share


def _brief(plan: PolicyPlan) -> dict[str, object]:
    summary = plan.summary()
    return {k: v for k, v in summary.items() if k != "by_entitlement"}


def _sync_department_heads(
    uow: UnitOfWork, policy: Policy, old: Policy, actor: str
) -> None:
    """A head the new policy names differently is set (audited); heads set
    through the API for departments the policy leaves alone stay."""
    for definition in policy.departments:
        before = old.department(definition.code)
        head = definition.head_employee_id
        if head is None or (before is not None and before.head_employee_id == head):
            continue
        department = uow.departments.get(definition.code)
        if department is None or department.head_employee_id == head:
            continue
        uow.record(
            actor,
            "department.head_set",
            f"department:{definition.code}",
            before={"head_employee_id": department.head_employee_id},
            after={"head_employee_id": head},
            reason="policy version activated",
        )
        department.head_employee_id = head
