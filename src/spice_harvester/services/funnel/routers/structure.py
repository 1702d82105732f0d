"""The tables inside a sheet grid: where each sits, its header rows, titles, orientation."""

from __future__ import annotations

from fastapi.responses import JSONResponse

from spice_harvester.application.funnel.structure import analyze_grid, grid_from_json
from spice_harvester.domain.errors import MalformedInput
from spice_harvester.services.funnel.bodies import StructureBody
from spice_harvester.services.funnel.routing import funnel_router
from spice_harvester.services.responses import ok

router = funnel_router(tags=["structure"])
# The analysis works on the grid made rectangular: a short body may still describe a huge
# one (one very long row over many empty ones), so the rectangle is bounded.
MAX_GRID_CELLS = 10_000_000


@router.post("/structure/analyze")
def analyze_structure(body: StructureBody) -> JSONResponse:
    """Each table's range, kind (`table`, `key_value`, `transposed`), header rows or
    columns, title, column names and rows; and what was noticed on the way."""
    if not body.grid:
        raise MalformedInput("grid holds no rows", field="grid")
    width = max(len(row) for row in body.grid)
    if width * len(body.grid) > MAX_GRID_CELLS:
        raise MalformedInput(
            f"grid is {len(body.grid)} rows by {width} columns, over {MAX_GRID_CELLS:,} cells",
            field="grid",
        )
    report = analyze_grid(grid_from_json(body.grid), body.merged)
    return ok(report.to_json(), f"{len(report.tables)} table(s) found")
