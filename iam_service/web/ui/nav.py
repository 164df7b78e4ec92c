"""What a page module declares besides its router: navigation entries and
sections of the role home pages (see ``docs/console.md``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from iam_service.domain.security import Role

if TYPE_CHECKING:
    from iam_service.bootstrap import Container
    from iam_service.web.ui.guard import ConsoleUser

SectionLoader = Callable[["Container", "ConsoleUser"], dict[str, Any]]


@dataclass(frozen=True)
class NavEntry:
    """A link in the side navigation, shown to the ``roles`` listed (all
    signed-in people when empty) while one of them is the active role."""

    key: str  # unique; pages pass it as ``nav`` to highlight the entry
    path: str
    label: str  # an i18n key
    roles: tuple[Role, ...] = ()
    order: int = 100

    def shown_to(self, active: Role | None) -> bool:
        return not self.roles or (active is not None and active in self.roles)


@dataclass(frozen=True)
class HomeSection:
    """A card on the home page of ``role`` (``None``: every home page).

    ``template`` is a partial rendered inside the card with the page context
    and ``data``, the dictionary ``load(container, user)`` returns. A section
    whose ``key`` is already registered replaces it: that is how a feature
    takes over its placeholder."""

    key: str
    role: Role | None
    title: str  # an i18n key
    template: str
    load: SectionLoader | None = None
    order: int = 100
    placeholder: bool = False


@dataclass
class Registry:
    nav: list[NavEntry] = field(default_factory=list)
    sections: dict[str, HomeSection] = field(default_factory=dict)

    def add_nav(self, entries: Iterable[NavEntry]) -> None:
        for entry in entries:
            if any(e.key == entry.key for e in self.nav):
                raise ValueError(f"navigation entry {entry.key!r} is declared twice")
            self.nav.append(entry)
        self.nav.sort(key=lambda e: (e.order, e.key))

    def add_sections(self, sections: Iterable[HomeSection]) -> None:
        for section in sections:
            old = self.sections.get(section.key)
            if old is not None and not old.placeholder:
                raise ValueError(f"home section {section.key!r} is declared twice")
            self.sections[section.key] = section

    def nav_for(self, active: Role | None) -> list[NavEntry]:
        return [e for e in self.nav if e.shown_to(active)]

    def sections_for(self, active: Role | None) -> list[HomeSection]:
        found = [
            s for s in self.sections.values() if s.role is None or s.role == active
        ]
        return sorted(found, key=lambda s: (s.order, s.key))
