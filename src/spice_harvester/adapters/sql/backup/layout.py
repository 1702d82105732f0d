"""A backup folder: its files, and `metadata.json`, which lists them with their checksums.

metadata.json is written last, after every file it lists is complete, and the folder is
renamed from `<name>.partial` to its final name only then: a folder without the suffix and
with readable metadata is a whole backup, and any change to a file since shows as a size or
SHA-256 that no longer matches.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from spice_harvester.domain.errors import MalformedInput

FORMAT = "spice-backup"
VERSION = 1
METADATA = "metadata.json"
PARTIAL = ".partial"
DATABASES_DIR = "databases"
SYSTEM_DIR = "system"
CONFIG_ARCHIVE = "config.tar.gz"
_READ_CHUNK = 1 << 20

Count = Annotated[int, Field(ge=0)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class FileEntry(_Model):
    """One file of the backup, by its path relative to the backup folder."""

    name: str
    bytes: Count
    sha256: str


class BranchEntry(_Model):
    head: str
    state_hash: str
    documents: Count


class DatabaseEntry(_Model):
    """One database: its history file and what the restore must reproduce."""

    file: str
    commits: Count
    events: Count  # document events: the lifecycle events are not carried
    branches: Count
    documents: Count  # live documents on main
    pull_requests: Count
    branch_heads: dict[str, BranchEntry]


class SystemEntry(_Model):
    """State outside the databases: one file per table, and the audit chain's last hash."""

    files: dict[str, str]
    counts: dict[str, int]
    audit_head: str | None = None


class Metadata(_Model):
    format: Literal["spice-backup"]
    version: int
    kind: str  # "manual" (spice backup create) or "scheduled" (spice backup run)
    created_at: str
    spice_version: str
    schema_revision: str | None
    engine: str
    engine_version: str
    python_version: str
    databases: dict[str, DatabaseEntry]
    system: SystemEntry
    config: str | None = None
    files: list[FileEntry]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(_READ_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def describe_file(folder: Path, name: str) -> FileEntry:
    path = folder / name
    return FileEntry(name=name, bytes=path.stat().st_size, sha256=sha256_of(path))


def write_metadata(folder: Path, metadata: Metadata) -> None:
    """Written to a temporary name and renamed, then flushed: it is the backup's seal."""
    text = json.dumps(metadata.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
    partial = folder / (METADATA + PARTIAL)
    with partial.open("w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, folder / METADATA)


def read_metadata(folder: Path) -> Metadata:
    """The backup's metadata, refused plainly when the folder is not a whole backup."""
    if not folder.is_dir():
        raise MalformedInput(f"no backup folder {folder}")
    path = folder / METADATA
    if not path.is_file():
        raise MalformedInput(f"{folder} is not a backup: it has no {METADATA}")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedInput(f"{path} cannot be read: {exc}") from exc
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise MalformedInput(f"{path} is not the metadata of a {FORMAT}")
    if raw.get("version") != VERSION:
        raise MalformedInput(
            f"{path}: {FORMAT} version {raw.get('version')!r} is not supported (only {VERSION})"
        )
    try:
        metadata = Metadata.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        raise MalformedInput(f"{path}: '{where}' {error['msg']}") from exc
    _require_listed(path, metadata)
    return metadata


def _require_listed(path: Path, metadata: Metadata) -> None:
    """Every file the metadata refers to must be among those it checksums: a file outside
    the list would be restored unchecked."""
    listed = {entry.name for entry in metadata.files}
    referred = [entry.file for entry in metadata.databases.values()]
    referred += list(metadata.system.files.values())
    if metadata.config is not None:
        referred.append(metadata.config)
    for name in referred:
        if name not in listed:
            raise MalformedInput(f"{path}: {name} is used but has no checksum in 'files'")


def check_files(folder: Path, metadata: Metadata) -> list[str]:
    """Every listed file against its recorded size and SHA-256: a description of each that
    is missing or differs (empty when the backup is intact)."""
    return [problem for entry in metadata.files if (problem := check_file(folder, entry))]


def check_file(folder: Path, entry: FileEntry) -> str | None:
    """What is wrong with one listed file, or None."""
    path = folder / entry.name
    if not _inside(folder, path):
        return f"{entry.name}: names a file outside the backup"
    if not path.is_file():
        return f"{entry.name} is missing"
    size = path.stat().st_size
    if size != entry.bytes:
        return f"{entry.name} has {size} bytes, metadata.json records {entry.bytes}"
    found = sha256_of(path)
    if found != entry.sha256:
        return (
            f"{entry.name} has SHA-256 {found[:16]}..., metadata.json records "
            f"{entry.sha256[:16]}..."
        )
    return None


def _inside(folder: Path, path: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())
