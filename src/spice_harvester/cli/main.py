"""The `spice` command: one entry point for every operator task."""

from __future__ import annotations

import typer

from spice_harvester.cli import (
    apikey,
    audit,
    backup,
    config_cmd,
    db,
    dlq,
    history,
    imports,
    maintenance,
    projection,
    schema,
    version,
)
from spice_harvester.cli.health import health
from spice_harvester.cli.serve import serve
from spice_harvester.cli.up import up
from spice_harvester.cli.verify import verify

app = typer.Typer(
    name="spice",
    help="Spice Harvester: ontology and knowledge-graph platform with git semantics.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("up")(up)
app.command("serve")(serve)
app.add_typer(config_cmd.app, name="config")
app.add_typer(db.app, name="db")
app.add_typer(history.app, name="history")
app.add_typer(apikey.app, name="apikey")
app.add_typer(audit.app, name="audit")
app.add_typer(projection.app, name="projection")
app.add_typer(dlq.app, name="dlq")
app.add_typer(imports.app, name="import")
app.add_typer(backup.app, name="backup")
app.command("verify")(verify)
app.add_typer(schema.app, name="schema")
app.add_typer(schema.ontology_app, name="ontology")
app.add_typer(maintenance.app, name="maintenance")
app.command("health")(health)
app.add_typer(version.app, name="version")


def main() -> None:
    app()
