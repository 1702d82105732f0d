"""The records of a history file as pydantic models; reading one is one validation."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from spice_harvester.domain.errors import MalformedInput

FORMAT = "spice-history"
VERSION = 1


def _timestamp(value: object) -> datetime:
    # datetime.fromisoformat rather than pydantic's parser: a commit id hashes its time as
    # the writer formatted it, so the value must come back exactly, and a time without an
    # offset is refused rather than taken for UTC.
    if not isinstance(value, str) or not value:
        raise ValueError("must be non-empty text")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("is not an ISO 8601 timestamp") from None
    if parsed.tzinfo is None:
        raise ValueError("needs a UTC offset")
    return parsed


Text = Annotated[str, Field(min_length=1)]
Count = Annotated[int, Field(ge=0)]
Timestamp = Annotated[datetime, PlainValidator(_timestamp)]


class _Record(BaseModel):
    # Strict: the file's JSON types are the format's types, so "3" is not 3 and true is not
    # 1. Keys a model does not name are ignored, as importers of version 1 always have:
    # refusing them would refuse files that imported before.
    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")


class Counts(_Record):
    timelines: Count
    commits: Count
    events: Count
    branches: Count


class Header(_Record):
    """`type`, `format` and `version` are checked before (read_header) with messages of
    their own; `engine` is for information only and not read."""

    database: Text
    description: str | None = None
    created_at: Timestamp
    created_by: Text
    exported_at: Text
    counts: Counts


class TimelineRecord(_Record):
    type: Literal["timeline"]
    id: Count
    parent: Count | None = None
    fork_pos: Count | None = None
    depth: Count
    owner: str | None = None  # the branch that appends to it


class EventRecord(_Record):
    event_id: Text
    event_type: Text
    aggregate_type: Text
    aggregate_id: Text
    class_id: str | None = None
    seq: Count
    payload: dict[str, Any]
    actor: Text
    occurred_at: Timestamp
    branch: str | None = None


class PackedCommit(_Record):
    """A commit with its events, as it travels between databases (push, pull)."""

    commit_id: Text
    parents: list[str]
    generation: Count
    author: Text
    message: Text
    created_at: Timestamp
    command_id: str | None = None
    request_hash: str | None = None
    state_hash: Text
    doc_count: Count
    events: list[EventRecord]


class CommitRecord(PackedCommit):
    """A commit of a history file, which also says where it lies on its timeline."""

    type: Literal["commit"]
    timeline: Count
    pos: Count


class BranchRecord(_Record):
    type: Literal["branch"]
    name: Text
    head: Text
    from_branch: str | None = None
    fork_commit: str | None = None
    protected: bool
    description: str | None = None
    seq: Count
    created_at: Timestamp
    created_by: Text


BodyRecord = TimelineRecord | CommitRecord | BranchRecord
_BODY: TypeAdapter[BodyRecord] = TypeAdapter(Annotated[BodyRecord, Field(discriminator="type")])


def read_header(record: Mapping[str, Any] | None) -> Header:
    """The first record, refused early and plainly when the file is not a history at all."""
    if record is None or record.get("type") != "header":
        raise MalformedInput("a history starts with its header record")
    if record.get("format") != FORMAT:
        raise MalformedInput(f"not a {FORMAT} file (format {record.get('format')!r})")
    if record.get("version") != VERSION:
        raise MalformedInput(
            f"{FORMAT} version {record.get('version')!r} is not supported (only {VERSION})"
        )
    try:
        return Header.model_validate(_as_dict(record))
    except ValidationError as exc:
        raise _malformed("header", exc, tagged=False) from exc


def read_record(record: Mapping[str, Any], where: str) -> BodyRecord:
    """A timeline, commit or branch record; the caller has checked its type is one of them."""
    try:
        return _BODY.validate_python(_as_dict(record))
    except ValidationError as exc:
        raise _malformed(where, exc, tagged=True) from exc


def _as_dict(record: Mapping[str, Any]) -> dict[str, Any]:
    # Strict models take dicts only; callers may hand in any mapping.
    return record if isinstance(record, dict) else dict(record)


# What a field must be, by pydantic's error type, in the words the format's doc uses.
_PROBLEMS = {
    "missing": "is missing",
    "string_type": "must be text",
    "string_too_short": "must be non-empty text",
    "int_type": "must be a whole number",
    "greater_than_equal": "must be a whole number",
    "bool_type": "must be true or false",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "list_type": "must be a list",
}


def _malformed(where: str, exc: ValidationError, *, tagged: bool) -> MalformedInput:
    """The first problem, naming the record and the field (`events[1].seq`)."""
    error = exc.errors()[0]
    # A discriminated union puts the record type first in the location: not a field.
    loc = error["loc"][1:] if tagged else error["loc"]
    field = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)
    field = field.removeprefix(".")
    return MalformedInput(f"{where}: '{field}' {_problem(error)}", field=field or None)


def _problem(error: ErrorDetails) -> str:
    if error["type"] == "value_error":
        return str(error.get("ctx", {}).get("error", error["msg"]))
    return _PROBLEMS.get(error["type"], error["msg"])
