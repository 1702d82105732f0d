"""Export and import of a database's whole history as JSON Lines, ids and hashes intact."""

from spice_harvester.adapters.sql.versioned.exchange.export import (
    export_history,
    export_history_on,
)
from spice_harvester.adapters.sql.versioned.exchange.files import (
    read_history_file,
    write_history_file,
    write_records_file,
)
from spice_harvester.adapters.sql.versioned.exchange.importer import (
    import_history,
    import_history_on,
    state_hashes,
)
from spice_harvester.adapters.sql.versioned.exchange.records import FORMAT, VERSION

__all__ = [
    "FORMAT",
    "VERSION",
    "export_history",
    "export_history_on",
    "import_history",
    "import_history_on",
    "read_history_file",
    "state_hashes",
    "write_history_file",
    "write_records_file",
]
