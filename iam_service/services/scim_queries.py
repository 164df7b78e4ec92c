"""Reading Users: one by id, or a filtered, paged list (RFC 7644 §3.4).

Filters are parsed and bound to the schema before anything is read, so a bad
one is ``400 invalidFilter``. They are evaluated on the rendered Users, which
keeps their meaning exactly that of the representation the client sees
(case rules, multi-valued attributes, extension attributes). An equality on
``id``/``employeeNumber``, ``userName``, ``externalId`` or ``emails.value``
at the top of the filter, the look-up identity providers make before every
write, narrows the rows read from the database first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from iam_service.adapters.orm_scim import Row
from iam_service.domain.model import Person
from iam_service.domain.policy import Policy
from iam_service.domain.scim_discovery import DEFAULT_COUNT, MAX_RESULTS
from iam_service.domain.scim_filter import (
    And,
    Compare,
    Filter,
    FilterSyntaxError,
    parse_filter,
)
from iam_service.domain.scim_match import Bound, FilterError, bind, matches
from iam_service.domain.scim_user import ScimUserRecord, render
from iam_service.services.scim_events import ScimError
from iam_service.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

_NARROWING = {  # (attribute, sub-attribute) -> ``visible`` argument
    ("id", None): "employee_ids",
    ("employeeNumber", None): "employee_ids",
    ("userName", None): "user_name",
    ("externalId", None): "external_id",
    ("emails", None): "email",
    ("emails", "value"): "email",
}


@dataclass(frozen=True)
class Page:
    total: int
    start_index: int
    resources: list[dict[str, Any]]


class ScimQueries:
    """``policy`` names the entitlements shown as ``groups``."""

    def __init__(
        self, uow_factory: UnitOfWorkFactory, policy: Callable[[], Policy] | None = None
    ) -> None:
        self.uow_factory = uow_factory
        self.policy = policy

    def get(self, user_id: str, *, base_url: str) -> dict[str, Any]:
        with self.uow_factory() as uow:
            person, record = self._load(uow, user_id)
            return self._render(uow, person, record, base_url)

    def search(
        self,
        *,
        filter_text: str | None,
        start_index: int | None,
        count: int | None,
        base_url: str,
    ) -> Page:
        """One page of the Users matching ``filter_text`` (all when None).
        ``startIndex`` below 1 counts as 1; ``count`` is capped at
        ``MAX_RESULTS`` (RFC 7644 §3.4.2.4)."""
        bound = _bound(filter_text) if filter_text is not None else None
        start = max(1, start_index or 1)
        size = min(max(0, DEFAULT_COUNT if count is None else count), MAX_RESULTS)
        with self.uow_factory() as uow:
            if bound is None:  # no filter: the database pages
                total = uow.scim_users.count_visible()
                rows = uow.scim_users.visible(offset=start - 1, limit=size)
                return Page(total, start, self._render_many(uow, rows, base_url))
            rows = uow.scim_users.visible(**_narrowing(bound))
            users = self._render_many(uow, rows, base_url)
        found = [u for u in users if matches(bound, u)]
        return Page(len(found), start, found[start - 1 : start - 1 + size])

    # -- helpers shared with the writes ------------------------------------
    @staticmethod
    def _load(
        uow: UnitOfWork, user_id: str, *, lock: bool = False, hidden_ok: bool = False
    ) -> tuple[Person, ScimUserRecord | None]:
        person = uow.persons.by_employee_id(user_id, lock=lock)
        if person is None or person.id is None:
            raise ScimError(404, f"no User {user_id}")
        record = uow.scim_users.for_person(person.id)
        if record is not None and record.deleted_at is not None and not hidden_ok:
            raise ScimError(404, f"no User {user_id}")
        return person, record

    def _render(
        self,
        uow: UnitOfWork,
        person: Person,
        record: ScimUserRecord | None,
        base_url: str,
    ) -> dict[str, Any]:
        return self._render_many(uow, [(person, record)], base_url)[0]

    def _render_many(
        self, uow: UnitOfWork, rows: Sequence[Row], base_url: str
    ) -> list[dict[str, Any]]:
        now = uow.clock.now()
        names = {e.ref: e.name for e in uow.entitlements.all()}
        if self.policy is not None:
            names |= {e.ref: e.name for e in self.policy().entitlements}
        ids = [p.id for p, _ in rows if p.id is not None]
        grants = uow.scim_users.groups(ids) if ids else {}
        out = []
        for person, record in rows:
            held = [
                (g.entitlement_ref, names.get(g.entitlement_ref, g.entitlement_ref))
                for g in grants.get(person.id or 0, [])
                if g.is_effective(now)
            ]
            out.append(render(person, record, held, base_url))
        return out


def _bound(text: str) -> Bound:
    try:
        return bind(parse_filter(text))
    except (FilterSyntaxError, FilterError) as error:
        raise ScimError(400, f"filter: {error}", "invalidFilter") from None


def _narrowing(bound: Bound) -> dict[str, Any]:
    """What an ``eq`` among the top-level ``and`` terms pins down."""
    for node in _conjuncts(bound.node):
        if not isinstance(node, Compare) or node.op != "eq":
            continue
        if not isinstance(node.value, str):
            continue
        target = bound.targets[("", node.path)]
        key = (target.attribute.name, target.sub.name if target.sub else None)
        argument = _NARROWING.get(key)
        if argument is not None:
            value = node.value
            return {argument: [value] if argument == "employee_ids" else value}
    return {}


def _conjuncts(node: Filter) -> list[Filter]:
    if isinstance(node, And):
        return _conjuncts(node.left) + _conjuncts(node.right)
    return [node]
