"""BFF's routers: every JSON answer, success or error, is documented as the envelope.

Routes return `JSONResponse`s, which FastAPI sends as they are (so declaring a response model
costs nothing per request); without one, OpenAPI would promise any JSON for a success and
FastAPI's own `{"detail": [...]}` for a 422 that BFF never sends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from fastapi.datastructures import DefaultPlaceholder
from fastapi.routing import APIRoute

from spice_harvester.services.envelope import ApiResponse

Envelope = ApiResponse[Any]
ERRORS: dict[int | str, str] = {
    400: "Malformed request, or a label several classes or fields share",
    401: "No API key, or an unknown or revoked one",
    403: "The key's role or databases do not allow it",
    404: "No such database, class, label, instance, branch or pull request",
    409: "Conflict (stale expected_seq, already exists, merge conflict)",
    413: "Body too large",
    422: "Fails validation (the field is named)",
    429: "Rate limited (see Retry-After)",
    503: "OMS (or another dependency) is unavailable",
}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Envelope, "description": text} for status, text in ERRORS.items()
}


class EnvelopeRoute(APIRoute):
    """A route whose own answer is documented as the envelope unless it names a model or a
    response class of its own (the server-sent events stream does)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        answers_json = isinstance(kwargs.get("response_class"), DefaultPlaceholder | None)
        if answers_json and isinstance(kwargs.get("response_model"), DefaultPlaceholder | None):
            kwargs["response_model"] = Envelope
        super().__init__(path, endpoint, **kwargs)


def bff_router(**options: Any) -> APIRouter:
    """An `APIRouter` of `EnvelopeRoute`s, with BFF's error answers documented."""
    return APIRouter(route_class=EnvelopeRoute, responses=ERROR_RESPONSES, **options)
