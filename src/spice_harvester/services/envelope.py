"""The response envelope every JSON answer of every service uses."""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from fastapi.responses import JSONResponse
from pydantic import BaseModel

T = TypeVar("T")
Status = Literal["success", "created", "accepted", "error"]


class ErrorItem(BaseModel):
    code: str
    message: str
    field: str | None = None


class ApiResponse(BaseModel, Generic[T]):
    """`{status, message, data, errors}`, as ../API.md fixes it."""

    status: Status
    message: str
    data: T | None = None
    errors: list[ErrorItem] | None = None


def envelope(
    status: Status,
    message: str,
    data: Any = None,
    *,
    errors: list[dict[str, Any]] | None = None,
    http_status: int = 200,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"status": status, "message": message, "data": data, "errors": errors}
    return JSONResponse(body, status_code=http_status, headers=headers)


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        item["field"] = field
    return item


def error_response(
    http_status: int,
    code: str,
    message: str,
    *,
    field: str | None = None,
    data: Any = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return envelope(
        "error",
        message,
        data,
        errors=[error_body(code, message, field)],
        http_status=http_status,
        headers=headers,
    )
