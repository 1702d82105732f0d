"""The one place where errors become HTTP status codes."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from spice_harvester.domain import errors as err
from spice_harvester.services.envelope import envelope, error_body, error_response

log = logging.getLogger(__name__)

STATUS_BY_ERROR: dict[type[err.SpiceError], int] = {
    err.MalformedInput: 400,
    err.ValidationFailed: 422,
    err.Unauthorized: 401,
    err.Forbidden: 403,
    err.NotFound: 404,
    err.AlreadyExists: 409,
    err.Conflict: 409,
    err.ConcurrencyConflict: 409,
    err.MergeConflict: 409,
    err.IdempotencyMismatch: 409,
    err.LeaseLost: 409,
    err.PayloadTooLarge: 413,
    err.UnsupportedFormat: 415,
    err.RateLimited: 429,
    err.DependencyUnavailable: 503,
}

CODE_BY_STATUS = {
    400: "validation_failed",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
    503: "dependency_unavailable",
}

# Errors in these parts of a request mean it was malformed (400), not semantically wrong (422).
MALFORMED_LOCATIONS = {"query", "path", "header", "cookie"}


def status_for(error: err.SpiceError) -> int:
    if isinstance(error, err.PeerError):
        return error.status
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400


async def _spice_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, err.SpiceError)
    headers = None
    if isinstance(exc, err.RateLimited):
        headers = {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, err.PeerError) and exc.errors:
        return envelope("error", exc.message, exc.data, errors=exc.errors, http_status=exc.status)
    return error_response(
        status_for(exc), exc.code, exc.message, field=exc.field, data=exc.data, headers=headers
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    code = CODE_BY_STATUS.get(exc.status_code, "http_error")
    headers = dict(exc.headers) if exc.headers else None
    return error_response(exc.status_code, code, message, headers=headers)


def _field_of(location: tuple[Any, ...]) -> str:
    parts = [str(part) for part in location if part not in ("body",)]
    return ".".join(parts) or "body"


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = list(exc.errors())
    malformed = any(
        problem.get("type") == "json_invalid"
        or (problem.get("loc") and problem["loc"][0] in MALFORMED_LOCATIONS)
        for problem in problems
    )
    items = [
        error_body("validation_failed", str(problem.get("msg")), _field_of(tuple(problem["loc"])))
        for problem in problems
    ]
    first = items[0] if items else error_body("validation_failed", "invalid request")
    message = f"{first.get('field', 'request')}: {first['message']}"
    return envelope("error", message, None, errors=items, http_status=400 if malformed else 422)


async def _unstorable_text(request: Request, exc: Exception) -> JSONResponse:
    # JSON can carry lone UTF-16 surrogates ("\ud800"), which no UTF-8 store can hold.
    return error_response(
        400,
        "validation_failed",
        "the request contains text that is not valid Unicode (a lone surrogate)",
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    request_id = getattr(request.state, "request_id", "-")
    log.error(
        "unhandled error on %s %s [%s]", request.method, request.url.path, request_id, exc_info=exc
    )
    return error_response(500, "internal_error", f"internal error (request id {request_id})")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(err.SpiceError, _spice_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(UnicodeError, _unstorable_text)
    app.add_exception_handler(Exception, _unexpected)
