"""Where the shared 3PL sample lies: `SPICE_SAMPLE_DATA`, or a `shared/data/3pl` folder next
to the checkout or any folder above it."""

from __future__ import annotations

import os
from pathlib import Path


def three_pl() -> Path:
    """The folder (which may not exist: tests that need it skip then)."""
    chosen = os.environ.get("SPICE_SAMPLE_DATA")
    if chosen:
        return Path(chosen)
    here = Path(__file__).resolve()
    for folder in here.parents:
        candidate = folder / "shared" / "data" / "3pl"
        if candidate.is_dir():
            return candidate
    return here.parents[2] / "shared" / "data" / "3pl"


THREE_PL = three_pl()
