"""`spice schema export|import` and `spice ontology export`: a database's classes as a file
(the spice-schema JSON document, JSON-LD, or OWL as Turtle or RDF/XML) and back, through the
same use cases as OMS's schema routes, in process against the configured database."""

from __future__ import annotations

import json
import sys
import uuid
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from spice_harvester.cli.common import EnvOption, console, fail
from spice_harvester.cli.in_process import oms_resources, operator, runner_of, store_of
from spice_harvester.domain.errors import SpiceError

if TYPE_CHECKING:
    from spice_harvester.application.schema_exchange import ImportFormat
    from spice_harvester.domain.ontology.classes import ClassDef

app = typer.Typer(help="Export and import a database's whole schema.", no_args_is_help=True)
ontology_app = typer.Typer(help="Export chosen classes of a database.", no_args_is_help=True)


class Form(StrEnum):
    json = "json"
    jsonld = "jsonld"
    owl_turtle = "owl-turtle"
    owl_xml = "owl-xml"


class ReadForm(StrEnum):
    auto = "auto"
    json = "json"
    jsonld = "jsonld"
    owl_turtle = "owl-turtle"
    owl_xml = "owl-xml"


# By file name ending, for `--format auto`; .json is told from JSON-LD by its content.
SUFFIX_FORMS: dict[str, ImportFormat] = {
    ".jsonld": "jsonld",
    ".ttl": "turtle",
    ".turtle": "turtle",
    ".owl": "xml",
    ".rdf": "xml",
    ".xml": "xml",
}
BranchOption = Annotated[str, typer.Option("--branch", help="Branch (or any ref) to read.")]
FormOption = Annotated[Form, typer.Option("--format", help="The file's form.")]
OutputOption = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write here instead of to stdout.")
]


def _write(text: str, output: Path | None, what: str) -> None:
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")
    console.print(f"exported {what} to {output}", markup=False)


def _export(
    db: str, branch: str, form: Form, class_ids: list[str] | None, env: EnvOption
) -> tuple[str, int]:
    from spice_harvester.application.ontology import get_class
    from spice_harvester.application.schema_exchange import schema_text, sorted_classes

    with oms_resources(env) as resources:
        store = store_of(resources)
        try:
            if class_ids is None:
                classes = sorted_classes(store, db, branch)
            else:
                chosen = {cid: get_class(store, db, branch, cid).definition for cid in class_ids}
                classes = [chosen[cid] for cid in sorted(chosen)]
        except SpiceError as exc:
            fail(f"cannot export {db}/{branch}: {exc.message}")
    return schema_text(classes, db, form.value), len(classes)


@app.command("export")
def export(
    database: Annotated[str, typer.Argument(help="The database whose schema to export.")],
    form: FormOption = Form.json,
    branch: BranchOption = "main",
    output: OutputOption = None,
    env: EnvOption = None,
) -> None:
    """Write every class of DATABASE at a branch (`spice schema import` reads it back)."""
    text, count = _export(database, branch, form, None, env)
    _write(text, output, f"{count} class(es) of {database}/{branch}")


@ontology_app.command("export")
def export_classes(
    database: Annotated[str, typer.Argument(help="The database the classes are in.")],
    class_ids: Annotated[
        list[str], typer.Option("--class", help="A class id to export (repeat for more).")
    ],
    form: FormOption = Form.json,
    branch: BranchOption = "main",
    output: OutputOption = None,
    env: EnvOption = None,
) -> None:
    """Write only the named classes.

    The forms are those of `spice schema export`, so the file imports with `spice schema
    import` wherever the classes' parents and relationship targets exist.
    """
    text, count = _export(database, branch, form, class_ids, env)
    _write(text, output, f"{count} class(es) of {database}/{branch}")


def form_of(path: Path, text: str, asked: ReadForm) -> ImportFormat:
    """The form to read `text` as: the one asked for, else by name and content."""
    if asked is not ReadForm.auto:
        forms: dict[ReadForm, ImportFormat] = {
            ReadForm.json: "json",
            ReadForm.jsonld: "jsonld",
            ReadForm.owl_turtle: "turtle",
            ReadForm.owl_xml: "xml",
        }
        return forms[asked]
    suffix = path.suffix.lower()
    if suffix in SUFFIX_FORMS:
        return SUFFIX_FORMS[suffix]
    stripped = text.lstrip()
    if stripped.startswith("<"):
        return "xml"
    if stripped.startswith(("{", "[")):
        document = _json_or_none(text)
        looks_ld = isinstance(document, (dict, list)) and "@context" in stripped[:4096]
        return "jsonld" if looks_ld and not _is_schema_document(document) else "json"
    return "turtle"


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def _is_schema_document(document: Any) -> bool:
    return isinstance(document, dict) and document.get("format") == "spice-schema"


def _unwrapped(text: str, form: ImportFormat) -> str:
    """An export saved straight from OMS's HTTP answer carries the envelope: take its data."""
    if form != "json":
        return text
    document = _json_or_none(text)
    if isinstance(document, dict) and _is_schema_document(document.get("data")):
        return json.dumps(document["data"])
    return text


def _read(path: Path, asked: ReadForm) -> list[ClassDef]:
    from spice_harvester.application.schema_exchange import parse_schema

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        fail(f"no such file: {path}")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {path}: {exc}")
    form = form_of(path, text, asked)
    try:
        return parse_schema(_unwrapped(text, form), form)
    except SpiceError as exc:
        fail(f"{path} is not a readable {form} schema: {exc.message}")


@app.command("import")
def import_(
    database: Annotated[str, typer.Argument(help="The database to import into.")],
    source: Annotated[Path, typer.Argument(help="A file `spice schema export` wrote.")],
    branch: Annotated[str, typer.Option("--branch", help="The branch to commit to.")] = "main",
    form: Annotated[
        ReadForm,
        typer.Option("--format", help="The file's form; auto: by its name and content."),
    ] = ReadForm.auto,
    env: EnvOption = None,
) -> None:
    """Write every class of the file into DATABASE in one commit.

    The classes are checked together against the branch's schema; existing classes with the
    same id are replaced.
    """
    from spice_harvester.application.ontology import limits_from
    from spice_harvester.application.schema_exchange import import_schema

    classes = _read(source, form)
    with oms_resources(env) as resources:
        try:
            record = import_schema(
                store_of(resources),
                runner_of(resources),
                limits_from(resources.settings),
                db=database,
                branch=branch,
                classes=classes,
                actor=operator(),
                command_id=uuid.uuid4().hex,
            )
        except SpiceError as exc:
            fail(f"cannot import {source} into {database}/{branch}: {exc.message}")
    commit = str((record.result or {}).get("commit_id"))[:12]
    console.print(
        f"imported {len(classes)} class(es) into {database}/{branch} (commit {commit})",
        markup=False,
    )
