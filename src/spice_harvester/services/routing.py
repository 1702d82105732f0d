"""Routers whose every JSON answer, success or error, is documented as the envelope.

Routes return `JSONResponse`s, which FastAPI sends as they are (so declaring a response model
costs nothing per request); without one, OpenAPI would promise any JSON for a success and
FastAPI's own `{"detail": [...]}` for a 422 that no service sends.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import APIRouter
from fastapi.datastructures import DefaultPlaceholder
from fastapi.routing import APIRoute

from spice_harvester.services.envelope import ApiResponse

Envelope = ApiResponse[Any]


class EnvelopeRoute(APIRoute):
    """A route whose own answer is documented as the envelope unless it names a model or a
    response class of its own (a server-sent events stream does)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        answers_json = isinstance(kwargs.get("response_class"), DefaultPlaceholder | None)
        if answers_json and isinstance(kwargs.get("response_model"), DefaultPlaceholder | None):
            kwargs["response_model"] = Envelope
        super().__init__(path, endpoint, **kwargs)


def enveloped_router(errors: Mapping[int | str, str], **options: Any) -> APIRouter:
    """An `APIRouter` of `EnvelopeRoute`s whose error answers (status -> meaning) are
    documented as the envelope too."""
    responses: dict[int | str, dict[str, Any]] = {
        status: {"model": Envelope, "description": text} for status, text in errors.items()
    }
    return APIRouter(route_class=EnvelopeRoute, responses=responses, **options)
