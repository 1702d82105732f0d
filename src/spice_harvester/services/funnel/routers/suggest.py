"""Suggesting classes: one table's (from rows or from an analysis), or several tables' with
the relationships their foreign keys show."""

from __future__ import annotations

from typing import Annotated, Any

import polars as pl
from fastapi import Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from spice_harvester.application.funnel.analysis import (
    profile_from_json,
    rows_table,
    schema_suggestion,
    upload_tables,
)
from spice_harvester.application.funnel.suggest import suggest_ontology
from spice_harvester.domain.errors import MalformedInput
from spice_harvester.domain.inference.model import TableProfile
from spice_harvester.services.funnel.bodies import (
    ProfileBody,
    RowsBody,
    SuggestSchemaBody,
    TablesBody,
)
from spice_harvester.services.funnel.routing import AppSettings, funnel_router
from spice_harvester.services.responses import ok

router = funnel_router(tags=["suggestion"])
ClassName = Annotated[
    str,
    Query(min_length=1, max_length=200, description="The class's name; its id is made from it."),
]
MAX_FILES = 200
_ROWS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["columns", "data"],
    "properties": {
        "columns": {"type": "array", "items": {"type": "string"}},
        "data": {"type": "array", "items": {"type": "array", "items": {}}},
    },
}
ONTOLOGY_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["tables"],
                    "properties": {
                        "tables": {"type": "object", "additionalProperties": _ROWS_SCHEMA}
                    },
                }
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["files"],
                    "properties": {
                        "files": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "Each CSV or JSON file is a table named by its "
                            "file name without extension; each table of a workbook is one.",
                        }
                    },
                }
            },
        },
    }
}


@router.post("/suggest-schema")
def suggest_schema(body: SuggestSchemaBody, class_name: ClassName = "Table") -> JSONResponse:
    """A class in OMS's shape (a property per column, the key), the key's evidence, and the
    property each column fills. The body is either rows (`{columns, data}`, as `analyze`
    takes them, profiled here) or an analysis: the `data` of an `analyze` answer as it came,
    or wrapped as `{profile: ...}` (types may have been edited)."""
    profile: TableProfile
    if isinstance(body, RowsBody):
        profile = body.options().profile(rows_table(body.columns, body.data), body.table_name)
    elif isinstance(body, ProfileBody):
        profile = profile_from_json(body.profile, "profile")
    else:
        profile = profile_from_json(body.model_dump(), "body")
    suggestion = schema_suggestion(profile, class_name)
    return ok(suggestion, f"class {suggestion['class']['id']} suggested")


@router.post("/suggest-ontology", openapi_extra=ONTOLOGY_BODY)
async def suggest_ontology_route(request: Request, settings: AppSettings) -> JSONResponse:
    """A class per table, relationships where one table's column holds another's key values
    (with the evidence), per table the property or relationship each column fills, and a
    report of keys and of columns that look like links but are not. Send JSON
    `{tables: {name: {columns, data}}}` or a multipart form of files."""
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith("multipart/form-data"):
        tables = await _file_tables(request, settings.funnel.server.max_upload_bytes)
    else:
        tables = await run_in_threadpool(_json_tables, await request.body())
    suggested = await run_in_threadpool(suggest_ontology, tables)
    return ok(
        suggested,
        f"{len(suggested['classes'])} class(es), "
        f"{len(suggested['relationships'])} relationship(s) suggested",
    )


def _json_tables(raw: bytes) -> dict[str, pl.DataFrame]:
    try:
        body = TablesBody.model_validate_json(raw)
    except ValidationError as error:
        # Reported like the bodies FastAPI checks itself: 400 for JSON that does not parse,
        # 422 naming the field otherwise.
        problems = [
            {**problem, "loc": ("body", *problem["loc"])}
            for problem in error.errors(include_url=False)
        ]
        raise RequestValidationError(problems) from None
    if not body.tables:
        raise MalformedInput("tables is empty: send at least one table", field="tables")
    return {
        name: rows_table(table.columns, table.data, f"tables.{name}.")
        for name, table in body.tables.items()
    }


async def _file_tables(request: Request, max_bytes: int) -> dict[str, pl.DataFrame]:
    async with request.form(max_files=MAX_FILES) as form:
        uploads = [
            (item.filename or key, await item.read(), item.content_type)
            for key, item in form.multi_items()
            if isinstance(item, UploadFile)
        ]
    if not uploads:
        raise MalformedInput("send at least one file (form field files)", field="files")
    return await run_in_threadpool(_read_files, uploads, max_bytes)


def _read_files(
    uploads: list[tuple[str, bytes, str | None]], max_bytes: int
) -> dict[str, pl.DataFrame]:
    tables: dict[str, pl.DataFrame] = {}
    for filename, content, content_type in uploads:
        for table in upload_tables(filename, content, content_type, max_bytes=max_bytes):
            if table.name in tables:
                raise MalformedInput(
                    f"two tables are named {table.name!r}: give the files distinct names",
                    field="files",
                )
            tables[table.name] = table.frame
    return tables
