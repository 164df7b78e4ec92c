"""What the CSV importers (HR events, assets) share: errors by line.

Both are all or nothing: every row is checked first and each problem is
reported with its line, so that the person who made the file can fix all of
them at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError


@dataclass(frozen=True)
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def header_error(
    header: Sequence[str], known: Iterable[str], required: Iterable[str]
) -> RowError | None:
    """Line 1's problems: columns nobody knows, required ones missing."""
    known = set(known)
    problems = [f"unknown column {h!r}" for h in header if h not in known]
    problems += [f"missing column {h!r}" for h in required if h not in header]
    return RowError(1, "; ".join(problems)) if problems else None


def validation_message(error: ValidationError) -> str:
    """Every field's problem in one line: ``field: message; ...``."""
    return "; ".join(
        f"{'.'.join(str(x) for x in e['loc']) or 'row'}: {e['msg']}"
        for e in error.errors()
    )


def row_details(errors: Iterable[RowError]) -> list[dict[str, Any]]:
    """The errors as the API's ``error.details``."""
    return [{"line": e.line, "message": e.message} for e in errors]
