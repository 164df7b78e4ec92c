"""Errors a use case raises; the web layer maps each to one HTTP status."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class ServiceError(Exception):
    """A request the service refuses. Nothing was written.

    ``details`` lists what exactly was wrong (CSV rows with their line, the
    items keeping a case open); the API returns them in ``error.details``."""

    status_code = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        details: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = [dict(d) for d in details]


class InvalidInput(ServiceError):
    status_code = 422
    code = "invalid"


class NotFoundError(ServiceError):
    status_code = 404
    code = "not_found"


class ConflictError(ServiceError):
    status_code = 409
    code = "conflict"


class Forbidden(ServiceError):
    status_code = 403
    code = "forbidden"


class SegregationOfDutiesError(Forbidden):
    """5.3: the caller asked for, benefits from, or already decided this."""

    code = "segregation_of_duties"
