"""BFF's routers: every JSON answer, success or error, is documented as the envelope."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from spice_harvester.services.routing import Envelope, EnvelopeRoute, enveloped_router

__all__ = ["ERRORS", "Envelope", "EnvelopeRoute", "bff_router"]

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


def bff_router(**options: Any) -> APIRouter:
    """An `APIRouter` of `EnvelopeRoute`s, with BFF's error answers documented."""
    return enveloped_router(ERRORS, **options)
