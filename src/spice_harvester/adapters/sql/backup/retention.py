"""The backups in a folder, and removing the old ones (the manual's daily_backup.sh).

A backup's age is its folder's modification time, as `find -mtime` in the manual's script
measures it. Only folders that are certainly backups are ever removed: those whose
metadata.json reads as a spice backup, and unfinished `<timestamp>.partial` folders a
crashed run left. Anything else in the folder is listed as such and left alone.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from spice_harvester.adapters.sql.backup import layout
from spice_harvester.domain.errors import MalformedInput

_STAMPED: Final = re.compile(r"^\d{8}T\d{6}Z(-\d+)?$")


@dataclass(frozen=True)
class BackupFolder:
    path: Path
    modified: datetime
    metadata: layout.Metadata | None
    problem: str | None  # why it is not a readable backup

    @property
    def partial(self) -> bool:
        return self.path.name.endswith(layout.PARTIAL)

    @property
    def ours(self) -> bool:
        """Certainly a backup (or an unfinished one), so pruning may remove it."""
        if self.metadata is not None:
            return True
        stem = self.path.name.removesuffix(layout.PARTIAL)
        return self.partial and _STAMPED.fullmatch(stem) is not None

    def size(self) -> int:
        return sum(path.stat().st_size for path in self.path.rglob("*") if path.is_file())


def list_backups(root: Path) -> list[BackupFolder]:
    """Every folder directly in `root`, oldest first."""
    if not root.is_dir():
        return []
    found = []
    for path in root.iterdir():
        if not path.is_dir():
            continue
        modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        metadata, problem = None, None
        if path.name.endswith(layout.PARTIAL):
            problem = "unfinished (a backup was interrupted, or is being written)"
        else:
            try:
                metadata = layout.read_metadata(path)
            except MalformedInput as exc:
                problem = exc.message
        found.append(BackupFolder(path, modified, metadata, problem))
    found.sort(key=lambda item: (item.modified, item.path.name))
    return found


def expired(root: Path, keep_days: float, now: datetime | None = None) -> list[BackupFolder]:
    """The backups in `root` older than `keep_days` days."""
    horizon = (now or datetime.now(UTC)) - timedelta(days=keep_days)
    return [item for item in list_backups(root) if item.ours and item.modified < horizon]


def prune(
    root: Path, keep_days: float, *, keep: Path | None = None, now: datetime | None = None
) -> list[Path]:
    """Removes the backups older than `keep_days` days, never `keep`; returns them."""
    removed = []
    for item in expired(root, keep_days, now):
        if keep is not None and item.path.resolve() == keep.resolve():
            continue
        shutil.rmtree(item.path)
        removed.append(item.path)
    return removed
