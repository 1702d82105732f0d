"""Operator commands: `spice db init|list|create|delete`, `spice schema export|import`,
`spice ontology export`, `spice version [status]` and `spice health [--watch]`.

The whole lifecycle runs as real processes on PostgreSQL (production's engine), and the
health monitor against real running services (tests/e2e/operator_stack.py); the many
refusals and every schema form run in process (typer's runner) on a real SQLite file, which
keeps them fast.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from spice_harvester import __version__
from spice_harvester.cli.main import app
from tests.e2e.conftest import Stack
from tests.e2e.operator_stack import OperatorStack
from tests.postgres import SKIP_POSTGRES, fresh_postgres_database, unused_port

pytestmark = pytest.mark.e2e
REDIS_URL = os.environ.get("SPICE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
NATS_URL = os.environ.get("SPICE_TEST_NATS_URL", "nats://127.0.0.1:4222")
CLIENT: dict[str, Any] = {
    "id": "Client",
    "label": {"en": "Client", "ko": "고객사"},
    "key": ["client_id"],
    "properties": [
        {"name": "client_id", "type": "string", "required": True},
        {"name": "brand_name", "type": "string"},
    ],
}
PRODUCT: dict[str, Any] = {
    "id": "Product",
    "label": "Product",
    "key": ["product_id"],
    "properties": [
        {"name": "product_id", "type": "string", "required": True},
        {"name": "unit_price", "type": "money", "constraints": {"currency": "USD"}},
    ],
    "relationships": [
        {"predicate": "client", "target": "Client", "cardinality": "n:1"},
    ],
}


def schema_file(folder: Path) -> Path:
    path = folder / "schema.json"
    document = {"format": "spice-schema", "version": 1, "classes": [CLIENT, PRODUCT]}
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("spice: "), stderr
    return lines[0]


# -- the lifecycle as real processes, on PostgreSQL ------------------------------------------


@pytest.mark.postgres
@pytest.mark.skipif(SKIP_POSTGRES, reason="SPICE_TEST_SKIP_POSTGRES=1")
def test_a_fresh_postgresql_install_is_initialised_filled_inspected_and_emptied(
    stack: Stack,
) -> None:
    with fresh_postgres_database() as url:
        stack.env["DATABASE_URL"] = url
        init = stack.run("db", "init")
        assert init.returncode == 0, init.stderr
        assert "applied 0009_maintenance_mode" in init.stdout
        assert "ready: postgresql at 0009_maintenance_mode" in init.stdout

        created = stack.run("db", "create", "sales", "--description", "매출 data")
        assert created.returncode == 0, created.stderr
        assert "created database sales (version 1" in created.stdout

        imported = stack.run("schema", "import", "sales", str(schema_file(stack.root)))
        assert imported.returncode == 0, imported.stderr
        assert "imported 2 class(es) into sales/main" in imported.stdout

        status = stack.run("version", "status", "--limit", "1", "--json")
        assert status.returncode == 0, status.stderr
        (sales,) = json.loads(status.stdout)["databases"]
        assert [branch["name"] for branch in sales["branches"]] == ["main"]
        assert sales["branches"][0]["origin"] == "root"
        (latest,) = sales["commits"]
        assert latest["message"] == "Import 2 class(es)"
        assert latest["author"].startswith("cli")
        assert sales["total_commits"] == 2
        assert sales["branches"][0]["head"] == latest["id"]

        deleted = stack.run("db", "delete", "sales", "--yes")
        assert deleted.returncode == 0, deleted.stderr
        assert "deleted database sales" in deleted.stdout


# -- every refusal and every form, in process on SQLite --------------------------------------


@dataclass
class Cli:
    runner: CliRunner
    root: Path

    def __call__(self, *args: str) -> Result:
        return self.runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def cli(workdir: Path) -> Cli:
    return Cli(CliRunner(), workdir)


def test_db_init_twice_does_nothing_more_and_version_prints_the_version(cli: Cli) -> None:
    first = cli("db", "init")
    assert first.exit_code == 0, first.output
    assert (cli.root / "logs").is_dir()
    assert (cli.root / "data" / "spice.sqlite3").is_file()
    again = cli("db", "init")
    assert again.exit_code == 0
    assert "applied" not in again.stdout
    assert "ready: sqlite at 0009_maintenance_mode" in again.stdout
    shown = cli("version")
    assert shown.stdout.strip() == __version__


def test_db_commands_refuse_bad_input_with_one_line_naming_the_problem(cli: Cli) -> None:
    bad = cli("db", "create", "Bad Name")
    assert bad.exit_code == 1
    assert "'Bad Name' is not a valid database name" in one_line(bad.stderr)
    assert cli("db", "create", "sales").exit_code == 0
    twice = cli("db", "create", "sales")
    assert twice.exit_code == 1
    assert "cannot create database sales" in one_line(twice.stderr)

    unconfirmed = cli("db", "delete", "sales")
    assert unconfirmed.exit_code == 1
    assert "pass --yes" in one_line(unconfirmed.stderr)
    stale = cli("db", "delete", "sales", "--yes", "--expected-seq", "7")
    assert stale.exit_code == 1
    assert "sales is at version 1, not 7" in one_line(stale.stderr)
    missing = cli("db", "delete", "nowhere", "--yes")
    assert "database nowhere does not exist" in one_line(missing.stderr)

    table = cli("db", "list")
    assert "sales" in table.stdout
    assert cli("db", "delete", "sales", "--yes", "--expected-seq", "1").exit_code == 0
    assert "no databases" in cli("db", "list").stdout


def _classes(cli: Cli, db: str) -> list[dict[str, Any]]:
    exported = cli("schema", "export", db)
    assert exported.exit_code == 0, exported.output
    classes: list[dict[str, Any]] = json.loads(exported.stdout)["classes"]
    return classes


@pytest.mark.parametrize("form", ["json", "jsonld", "owl-turtle", "owl-xml"])
def test_a_schema_export_imports_into_another_database_unchanged(cli: Cli, form: str) -> None:
    for name in ("source", "copy"):
        assert cli("db", "create", name).exit_code == 0
    loaded = cli("schema", "import", "source", str(schema_file(cli.root)))
    assert loaded.exit_code == 0, loaded.output

    written = cli.root / f"schema.{form}"
    exported = cli("schema", "export", "source", "--format", form, "-o", str(written))
    assert exported.exit_code == 0, exported.output
    assert "exported 2 class(es) of source/main" in exported.stdout
    imported = cli("schema", "import", "copy", str(written), "--format", form)
    assert imported.exit_code == 0, imported.output
    assert _classes(cli, "copy") == _classes(cli, "source")


def test_schema_import_reads_the_form_from_the_file_and_refuses_a_broken_one(cli: Cli) -> None:
    for name in ("source", "copy"):
        assert cli("db", "create", name).exit_code == 0
    assert cli("schema", "import", "source", str(schema_file(cli.root))).exit_code == 0
    turtle = cli.root / "schema.ttl"
    assert cli("schema", "export", "source", "--format", "owl-turtle", "-o", str(turtle))
    assert cli("schema", "import", "copy", str(turtle)).exit_code == 0
    assert _classes(cli, "copy") == _classes(cli, "source")

    broken = cli.root / "broken.ttl"
    broken.write_text("this is not turtle")
    refused = cli("schema", "import", "copy", str(broken))
    assert refused.exit_code == 1
    assert f"{broken} is not a readable turtle schema" in one_line(refused.stderr)
    absent = cli("schema", "import", "copy", str(cli.root / "absent.json"))
    assert "no such file" in one_line(absent.stderr)


def test_ontology_export_writes_only_the_named_classes(cli: Cli) -> None:
    assert cli("db", "create", "source").exit_code == 0
    assert cli("schema", "import", "source", str(schema_file(cli.root))).exit_code == 0
    one = cli("ontology", "export", "source", "--class", "Client")
    assert one.exit_code == 0, one.output
    document = json.loads(one.stdout)
    assert [c["id"] for c in document["classes"]] == ["Client"]
    assert document["database"] == "source"
    both = cli("ontology", "export", "source", "--class", "Product", "--class", "Client")
    assert [c["id"] for c in json.loads(both.stdout)["classes"]] == ["Client", "Product"]
    owl = cli("ontology", "export", "source", "--class", "Product", "--format", "owl-xml")
    assert "rdf:RDF" in owl.stdout
    unknown = cli("ontology", "export", "source", "--class", "Nope")
    assert unknown.exit_code == 1
    assert "class 'Nope' does not exist" in one_line(unknown.stderr)


def test_version_status_lists_branches_with_origin_and_recent_commits(cli: Cli) -> None:
    assert cli("db", "create", "source").exit_code == 0
    assert cli("schema", "import", "source", str(schema_file(cli.root))).exit_code == 0
    text = cli("version", "status", "--database", "source")
    assert text.exit_code == 0, text.output
    assert "main (protected)" in text.stdout
    assert "recent commits on main (2 of 2)" in text.stdout
    assert "Import 2 class(es)" in text.stdout
    missing = cli("version", "status", "--database", "nowhere")
    assert missing.exit_code == 1
    assert "cannot read the version status" in one_line(missing.stderr)


# -- the health monitor against running services ---------------------------------------------


def test_health_reports_every_service_and_dependency_up_with_latency(
    operator_stack: OperatorStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = operator_stack.stack
    checked = stack.run("health", "--json", REDIS_URL=REDIS_URL, NATS_URL=NATS_URL)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    report = json.loads(checked.stdout)
    assert report["healthy"] is True
    states = {check["name"]: check["state"] for check in report["checks"]}
    assert states == {
        "OMS": "up",
        "BFF": "up",
        "Funnel": "up",
        "database": "up",
        "worker": "up",
        "redis": "up",
        "nats": "up",
    }
    latencies = [c["latency_ms"] for c in report["checks"] if c["name"] != "worker"]
    assert all(latency is not None and latency >= 0 for latency in latencies)
    assert report["maintenance"]["enabled"] is False

    # --watch in process (the same command, without another interpreter's start-up).
    monkeypatch.chdir(stack.root)
    watched = CliRunner().invoke(
        app,
        ["health", "--watch", "--interval", "0.2", "--rounds", "2", "--json"],
        env=stack.env,
        catch_exceptions=False,
    )
    assert watched.exit_code == 0, watched.output
    rounds = [json.loads(line) for line in watched.stdout.splitlines() if line.strip()]
    assert len(rounds) == 2
    assert all(item["healthy"] for item in rounds)


def test_health_exits_1_naming_what_is_down(operator_stack: OperatorStack) -> None:
    # Funnel looked for where nothing listens, and a NATS that is not there.
    nowhere = f"http://127.0.0.1:{unused_port()}"
    checked = operator_stack.stack.run(
        "health", FUNNEL_BASE_URL=nowhere, NATS_URL="nats://127.0.0.1:1"
    )
    assert checked.returncode == 1
    assert "UNHEALTHY" in checked.stdout
    assert one_line(checked.stderr) == "spice: unhealthy: Funnel, nats down"
