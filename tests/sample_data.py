"""Where the 3PL sample lies: `SPICE_SAMPLE_DATA`, else the copy kept in `tests/data/3pl`
(the shared sample, vendored so that no test skips for want of it)."""

from __future__ import annotations

import os
from pathlib import Path


def three_pl() -> Path:
    chosen = os.environ.get("SPICE_SAMPLE_DATA")
    if chosen:
        return Path(chosen)
    return Path(__file__).resolve().parent / "data" / "3pl"


THREE_PL = three_pl()
