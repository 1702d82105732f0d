"""The configuration a backup may carry: `.env` and the YAML folder, as config.tar.gz.

Members are named `.env` and `config/<path>` whatever the files are called here, so a
restore puts them where this installation reads them: the config folder is SPICE_CONFIG_DIR
(or `config/`), and the env file `.env` in the working folder, or SPICE_ENV_FILE where the
settings come from another file (the systemd units' /etc/spice-harvester/*.env). A restore
never follows a member out of those places, and does not overwrite a file that differs
unless asked to.
"""

from __future__ import annotations

import io
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from spice_harvester.domain.errors import AlreadyExists, MalformedInput

ENV_MEMBER = ".env"
CONFIG_PREFIX = "config"


@dataclass(frozen=True)
class ConfigFile:
    path: Path
    data: bytes


@dataclass(frozen=True)
class ConfigPlaces:
    """Where this installation keeps its configuration."""

    env_file: Path
    config_dir: Path

    @classmethod
    def current(cls) -> ConfigPlaces:
        return cls(
            Path(os.environ.get("SPICE_ENV_FILE") or ".env"),
            Path(os.environ.get("SPICE_CONFIG_DIR") or "config"),
        )


def archive_config(target: Path, places: ConfigPlaces) -> list[str]:
    """Writes config.tar.gz; returns the member names (an empty archive when there is no
    configuration: the backup still says it was asked for)."""
    members: list[tuple[Path, str]] = []
    if places.env_file.is_file():
        members.append((places.env_file, ENV_MEMBER))
    if places.config_dir.is_dir():
        for path in sorted(places.config_dir.rglob("*")):
            if path.is_file() and not path.is_symlink():
                relative = path.relative_to(places.config_dir).as_posix()
                members.append((path, f"{CONFIG_PREFIX}/{relative}"))
    with tarfile.open(target, "w:gz") as archive:
        for path, name in members:
            info = tarfile.TarInfo(name)
            data = path.read_bytes()
            info.size = len(data)
            info.mtime = int(path.stat().st_mtime)
            info.mode = 0o600
            archive.addfile(info, io.BytesIO(data))
    return [name for _, name in members]


def plan_config(archive: Path, places: ConfigPlaces, *, replace: bool) -> list[ConfigFile]:
    """The archived files that differ from those here, checked before anything is written:
    AlreadyExists names the files that exist and differ, unless `replace`."""
    wanted: list[ConfigFile] = []
    with tarfile.open(archive, "r:gz") as opened:
        for member in opened.getmembers():
            destination = _destination(member, places)
            extracted = opened.extractfile(member)
            if extracted is None:
                raise MalformedInput(f"{archive.name}: {member.name} has no content")
            wanted.append(ConfigFile(destination, extracted.read()))
    changed = [item for item in wanted if _differs(item.path, item.data)]
    clashes = [str(item.path) for item in changed if item.path.exists()]
    if clashes and not replace:
        raise AlreadyExists(
            f"{', '.join(clashes)} differ from the backup's: restore with --replace to "
            "overwrite them",
            field="config",
        )
    return changed


def write_config(planned: list[ConfigFile]) -> list[Path]:
    """Writes what plan_config found (readable by the owner only: .env holds secrets)."""
    for item in planned:
        item.path.parent.mkdir(parents=True, exist_ok=True)
        partial = item.path.with_name(item.path.name + ".partial")
        partial.write_bytes(item.data)
        partial.chmod(0o600)
        os.replace(partial, item.path)
    return [item.path for item in planned]


def _destination(member: tarfile.TarInfo, places: ConfigPlaces) -> Path:
    name = PurePosixPath(member.name)
    if not member.isfile() or name.is_absolute() or ".." in name.parts:
        raise MalformedInput(f"{CONFIG_PREFIX}.tar.gz: refusing member {member.name!r}")
    if member.name == ENV_MEMBER:
        return places.env_file
    if name.parts[0] != CONFIG_PREFIX or len(name.parts) < 2:
        raise MalformedInput(f"{CONFIG_PREFIX}.tar.gz: unexpected member {member.name!r}")
    return places.config_dir.joinpath(*name.parts[1:])


def _differs(path: Path, data: bytes) -> bool:
    return not path.is_file() or path.read_bytes() != data
