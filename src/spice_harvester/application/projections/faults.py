"""Named points where a fault test stops the worker, to kill it there.

`SPICE_FAULT_POINT=<name>` makes the first unit that reaches that point write
`<name>.reached` in `SPICE_FAULT_DIR` (default: the working folder) and then hang, inside
its transaction, until the process is killed. Unset, a point costs one dictionary lookup.
The points: `after_claim` (events claimed, nothing written), `after_effect` (read model
written, events not yet marked done), `after_done` (marked, not yet committed).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

POINTS = frozenset({"after_claim", "after_effect", "after_done"})
_ENV = "SPICE_FAULT_POINT"


def reach(point: str) -> None:
    assert point in POINTS, f"unknown fault point {point!r}"
    if os.environ.get(_ENV) != point:
        return
    folder = Path(os.environ.get("SPICE_FAULT_DIR", "."))
    (folder / f"{point}.reached").write_text(str(os.getpid()))
    threading.Event().wait()  # until SIGKILL
