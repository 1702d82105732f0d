"""A class change against the instances it governs: refuse what would break them, or migrate."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from spice_harvester.application.instance_values import prepare
from spice_harvester.domain.errors import ValidationFailed
from spice_harvester.domain.ontology.schema import Schema
from spice_harvester.domain.ontology.types import ValueType
from spice_harvester.domain.versioning.changes import Change, ChangeKind
from spice_harvester.domain.versioning.documents import DocState
from spice_harvester.ports.versioned_store import VersionedStore

PAGE = 1000
REPORTED = 100
TEXT_TYPES = (ValueType.STRING, ValueType.TEXT)


class Migration(BaseModel):
    """How to carry instances over a class change, applied in the same commit."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    rename: dict[str, str] = Field(default_factory=dict, description="old name -> new name")
    defaults: dict[str, Any] = Field(default_factory=dict, description="for missing values")
    cast: list[str] = Field(default_factory=list, description="convert to the new type")

    @classmethod
    def from_api(cls, payload: object) -> Migration:
        try:
            return cls.model_validate(payload)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise ValidationFailed(
                f"migration.{where}: {first['msg']}", field=f"migration.{where}"
            ) from exc

    def apply(self, data: dict[str, Any], schema: Schema, class_id: str) -> dict[str, Any]:
        moved = {self.rename.get(name, name): value for name, value in data.items()}
        for name, value in self.defaults.items():
            moved.setdefault(name, value)
        resolved = schema.resolved(class_id)
        for name in self.cast:
            prop = resolved.property(name)
            if prop is not None and name in moved and prop.type in TEXT_TYPES:
                # Numbers and booleans become their text; other targets are parsed by type.
                moved[name] = (
                    str(moved[name]).lower() if isinstance(moved[name], bool) else str(moved[name])
                )
        return moved


def _instances(store: VersionedStore, db: str, branch: str, class_id: str) -> Iterator[DocState]:
    offset = 0
    while True:
        page = store.list_docs(db, branch, "instance", class_id, limit=PAGE, offset=offset)
        yield from page.items
        offset += PAGE
        if offset >= page.total:
            return


def carry_instances(
    store: VersionedStore,
    db: str,
    branch: str,
    schema: Schema,
    class_id: str,
    migration: Migration | None,
) -> list[Change]:
    """The instance rewrites a class change needs, or a 422 reporting every instance it
    would leave invalid (how many, which, why)."""
    problems: list[dict[str, Any]] = []
    count = 0
    rewrites: list[Change] = []
    for governed in [class_id, *schema.subclasses(class_id)]:
        for state in _instances(store, db, branch, governed):
            assert state.data is not None
            data = migration.apply(state.data, schema, governed) if migration else state.data
            try:
                prepared = prepare(
                    schema, governed, data, partial=False, instance_id=state.ref.doc_id
                )
            except ValidationFailed as exc:
                count += 1
                if len(problems) < REPORTED:
                    problems.append(
                        {
                            "class_id": governed,
                            "id": state.ref.doc_id,
                            "field": exc.field,
                            "reason": exc.message,
                        }
                    )
                continue
            if prepared.data != state.data:
                rewrites.append(
                    Change(state.ref, ChangeKind.REPLACE, prepared.data, expected_seq=state.seq)
                )
    if count:
        hint = "" if migration else " (send a migration: rename, defaults or cast)"
        raise ValidationFailed(
            f"the change would leave {count} instance(s) invalid{hint}",
            field="migration" if migration else "properties",
            data={"invalid_count": count, "instances": problems},
        )
    return rewrites
