"""Envelope shapes every service answers with: lists, counts, accepted commands."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from spice_harvester.ports.commands import CommandRecord
from spice_harvester.services.envelope import Status, envelope


def listed(plural: str, items: list[Any], total: int, limit: int, offset: int) -> JSONResponse:
    return envelope(
        "success",
        f"{len(items)} of {total} {plural}",
        {plural: items, "total": total, "limit": limit, "offset": offset},
    )


def ok(data: Any, message: str = "ok") -> JSONResponse:
    return envelope("success", message, data)


def accepted(record: CommandRecord, message: str, *, http_status: int = 202) -> JSONResponse:
    """A write's answer: the command id and what it did, durable when this is sent."""
    data = {"command_id": record.command_id, "status": record.status.value, **(record.result or {})}
    status: Status = "created" if http_status == 201 else "accepted"
    return envelope(status, message, data, http_status=http_status)
