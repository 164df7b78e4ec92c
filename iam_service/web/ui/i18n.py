"""Message catalogues of our own: ``locales/<lang>/<area>.json``, flat keys.

Each feature area keeps its own file (``core.json``, ``reviews.json``, ...)
so engineers never edit the same catalogue; the files of a language are
merged and a key defined twice is refused at start-up. ``t(key, **params)``
fills ``{name}`` placeholders; a missing key shows the key itself (and the
catalogue test fails). The language is the ``iam_lang`` cookie set by the
switch, else the browser's ``Accept-Language``, else the organisation's
(``IAM_CONSOLE_LANGUAGE``, default Japanese). ADR 0014.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

LANGUAGES = ("ja", "en")
LANG_COOKIE = "iam_lang"
LOCALES = Path(__file__).parent / "locales"


class CatalogueError(ValueError):
    """A catalogue file is unreadable or defines a key twice."""


@cache
def catalogue(lang: str) -> dict[str, str]:
    """Every message of one language (read once per process)."""
    merged: dict[str, str] = {}
    for path in sorted((LOCALES / lang).glob("*.json")):
        try:
            messages = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as error:
            raise CatalogueError(f"{path}: {error}") from None
        for key, text in messages.items():
            if key in merged:
                raise CatalogueError(f"{path}: key {key!r} is defined twice")
            merged[key] = str(text)
    return merged


@dataclass(frozen=True)
class Translator:
    lang: str

    def __call__(self, key: str, /, **params: Any) -> str:
        text = catalogue(self.lang).get(key)
        if text is None:
            log.warning("no %s message for %r", self.lang, key)
            return key
        return text.format_map(params) if params else text

    def has(self, key: str) -> bool:
        return key in catalogue(self.lang)


def choose_language(cookie: str | None, accept: str | None, default: str) -> str:
    """The cookie's language, else the browser's first we speak, else ours."""
    if cookie in LANGUAGES:
        return str(cookie)
    for lang, _ in sorted(_accepted(accept or ""), key=lambda p: -p[1]):
        if lang in LANGUAGES:
            return lang
    return default


def _accepted(header: str) -> list[tuple[str, float]]:
    found = []
    for part in header.split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag:
            found.append((tag.split("-")[0].lower(), quality))
    return found
