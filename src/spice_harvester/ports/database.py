"""What the application needs from a database engine, whichever engine it is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class MigrationStatus:
    """Where the schema stands against the migrations this code ships."""

    current: str | None
    head: str
    pending: tuple[str, ...]

    @property
    def up_to_date(self) -> bool:
        return not self.pending


class Database(Protocol):
    """One physical database (SQLite file or PostgreSQL) and its schema migrations."""

    @property
    def engine_name(self) -> str:
        """'sqlite' or 'postgresql'."""
        ...

    @property
    def display_url(self) -> str:
        """The URL with any password masked, for messages and logs."""
        ...

    def ping(self) -> None:
        """Round-trips a trivial query; raises DependencyUnavailable when it cannot."""
        ...

    def migration_status(self) -> MigrationStatus: ...

    def migrate(self) -> list[str]:
        """Applies every pending migration (safe to run from several processes at once).

        Returns the revisions applied, empty when the schema was already up to date.
        """
        ...

    def close(self) -> None: ...
