"""User names for new accounts: predictable, ASCII, unique per system."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

MAX_LENGTH = 20  # sAMAccountName's limit, the strictest of our systems


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", folded.lower())


def base_username(given_name: str, family_name: str, employee_id: str) -> str:
    """``jsmith`` from John Smith; ``e<id>`` when the names have no Latin letters."""
    given, family = _ascii(given_name), _ascii(family_name)
    if given and family:
        return (given[0] + family)[:MAX_LENGTH]
    return ("e" + _ascii(employee_id))[:MAX_LENGTH]


def unique_username(base: str, taken: Callable[[str], bool]) -> str:
    """The first of ``base``, ``base2``, ``base3``, ... that is not taken."""
    if not taken(base):
        return base
    for n in range(2, 10_000):
        suffix = str(n)
        candidate = base[: MAX_LENGTH - len(suffix)] + suffix
        if not taken(candidate):
            return candidate
    raise ValueError(f"no free user name near {base!r}")
