"""What Funnel's JSON routes take: rows with their column names, analyses, grids, links."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from spice_harvester.application.funnel.analysis import ProfileOptions, phone_region

# A cell of a JSON table: text, a number, a boolean, null, or (with include_complex_types)
# an array or object.
Row = list[JsonValue]
GridCell = str | int | float | bool | None


class ProfileFields(BaseModel):
    include_complex_types: bool = Field(
        False, description="Also recognise arrays, objects and coordinates."
    )
    sample_rows: int | None = Field(
        None, ge=1, description="Profile a repeatable random sample of this many rows."
    )
    phone_region: str | None = Field(
        None,
        min_length=2,
        max_length=3,
        description="Region code (KR, US...) for phone numbers written without a country code.",
    )

    def options(self) -> ProfileOptions:
        return ProfileOptions(
            self.include_complex_types, self.sample_rows, phone_region(self.phone_region)
        )


class RowsBody(ProfileFields):
    """A table as JSON: column names and rows of cells, one cell per column."""

    columns: list[str] = Field(description="The column names, distinct.")
    data: list[Row] = Field(description="The rows; each has exactly one cell per column.")
    table_name: str = Field(
        "", max_length=200, description="The table's name, which helps find its key."
    )


class ProfileBody(BaseModel):
    """An analysis sent back: `profile` is the `data` of an `analyze` answer (or one table's
    `profile` from `analyze/file`), edited or not."""

    profile: dict[str, Any]


class AnalysisBody(BaseModel):
    """The `data` of an `analyze` answer, sent as it came."""

    model_config = ConfigDict(extra="allow")

    columns: list[dict[str, Any]]
    row_count: int


SuggestSchemaBody = RowsBody | ProfileBody | AnalysisBody


class TableRows(BaseModel):
    columns: list[str]
    data: list[Row]


class TablesBody(BaseModel):
    """Several tables by name; each becomes a class."""

    tables: dict[str, TableRows]


class GoogleSheetBody(ProfileFields):
    url: str = Field(
        max_length=2000,
        description="A Google Sheets link shared as 'anyone with the link can view'.",
    )


class StructureBody(BaseModel):
    grid: list[list[GridCell]] = Field(description="The sheet's rows of cells, top to bottom.")
    merged: list[str] = Field(
        default_factory=list, max_length=100_000, description="Merged ranges such as B2:D2."
    )
