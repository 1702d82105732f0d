"""The tables inside a spreadsheet grid: several per sheet, header rows, titles, sideways tables."""

from spice_harvester.application.funnel.structure.analysis import analyze_grid
from spice_harvester.application.funnel.structure.cells import (
    Cell,
    CellRange,
    Grid,
    grid_from_json,
    string_frame,
    unique_names,
)
from spice_harvester.application.funnel.structure.report import (
    FoundTable,
    StructureReport,
    TableKind,
)

__all__ = [
    "Cell",
    "CellRange",
    "FoundTable",
    "Grid",
    "StructureReport",
    "TableKind",
    "analyze_grid",
    "grid_from_json",
    "string_frame",
    "unique_names",
]
