"""The one error hierarchy of the system; only the service layer maps it to HTTP."""

from __future__ import annotations

from typing import Any


class SpiceError(Exception):
    """Root of every error the system raises on purpose."""

    code = "error"

    def __init__(
        self, message: str, *, field: str | None = None, data: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.data = data


class MalformedInput(SpiceError):
    """The request could not be read at all (bad JSON, a parameter of the wrong form)."""

    code = "validation_failed"


class ValidationFailed(SpiceError):
    """The request was readable but breaks a rule of the model."""

    code = "validation_failed"


class UnsupportedFormat(ValidationFailed):
    """An upload in a format nothing reads (a PDF, a legacy .xls workbook)."""

    code = "unsupported_media_type"


class NotFound(SpiceError):
    code = "not_found"


class AlreadyExists(SpiceError):
    code = "already_exists"


class ConcurrencyConflict(SpiceError):
    """An `expected_seq` did not match the aggregate's current sequence; nothing was written."""

    code = "occ_conflict"

    def __init__(self, aggregate_id: str, expected_seq: int | None, actual_seq: int) -> None:
        super().__init__(
            f"{aggregate_id} is at version {actual_seq}, not {expected_seq}",
            data={
                "aggregate_id": aggregate_id,
                "expected_seq": expected_seq,
                "actual_seq": actual_seq,
            },
        )
        self.aggregate_id = aggregate_id
        self.expected_seq = expected_seq
        self.actual_seq = actual_seq


class MergeConflict(SpiceError):
    code = "merge_conflict"

    def __init__(self, message: str, conflicts: list[dict[str, Any]]) -> None:
        super().__init__(message, data={"conflicts": conflicts})
        self.conflicts = conflicts


class Conflict(SpiceError):
    """The request clashes with stored state (an instance others still point at, say)."""

    code = "conflict"


class Unauthorized(SpiceError):
    code = "unauthorized"


class Forbidden(SpiceError):
    code = "forbidden"


class PayloadTooLarge(SpiceError):
    code = "payload_too_large"


class RateLimited(SpiceError):
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, data={"retry_after": retry_after})
        self.retry_after = retry_after


class DependencyUnavailable(SpiceError):
    """A database, broker or peer service could not be reached."""

    code = "dependency_unavailable"

    def __init__(self, dependency: str, reason: str) -> None:
        super().__init__(f"{dependency} is unavailable: {reason}", data={"dependency": dependency})
        self.dependency = dependency
        self.reason = reason


class ConfigurationError(SpiceError):
    """Settings that cannot work; raised before any service starts."""

    code = "configuration_error"


class LeaseLost(SpiceError):
    """A consumer acted on an event whose lease it no longer holds."""

    code = "lease_lost"


class IdempotencyMismatch(SpiceError):
    """An event id or command id was reused with a different payload."""

    code = "idempotency_mismatch"


class PeerError(SpiceError):
    """Another service answered with an error: its status, code and message are passed on
    unchanged (a 409 from OMS stays a 409)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        data: dict[str, Any] | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message, field=field, data=data)
        self.status = status
        self.code = code
        # Every error item the peer listed, when it listed several.
        self.errors = errors
