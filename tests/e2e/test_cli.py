"""Operator commands as real processes: config check, db migrate/status, production start-up."""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import Stack, wait_for

pytestmark = pytest.mark.e2e
SECRET = "s3cr3t-value-that-is-long-enough-1234567890"


def test_config_check_prints_effective_settings_with_secrets_masked(stack: Stack) -> None:
    (stack.root / "config" / "oms.yml").write_text("database:\n  pool_size: 7\n")
    result = stack.run(
        "config",
        "check",
        "--json",
        SECRET_KEY=SECRET,
        BFF_ADMIN_TOKEN="admin-token-value",
        DATABASE_URL="postgresql://spice:db-password@db.internal:5432/spice",
        REDIS_URL="redis://:redis-password@cache:6379/0",
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    settings = report["settings"]
    assert settings["oms.database.pool_size"] == 7
    assert settings["secret_key"] == "********"
    assert settings["bff_admin_token"] == "********"
    assert settings["database_url"] == "postgresql://spice:********@db.internal:5432/spice"
    assert settings["redis_url"] == "redis://:********@cache:6379/0"
    for secret in (SECRET, "admin-token-value", "db-password", "redis-password"):
        assert secret not in result.stdout
    assert report["files"] == [str(stack.root / "config" / "oms.yml")]


def test_config_check_warns_about_settings_that_do_nothing(stack: Stack) -> None:
    result = stack.run("config", "check", TERMINUS_SERVER_URL="http://localhost:6363")
    assert result.returncode == 0
    assert "TERMINUS_SERVER_URL have no effect" in result.stdout


def test_config_check_exits_2_naming_a_bad_key(stack: Stack) -> None:
    (stack.root / "config" / "bff.yml").write_text("rate_limiting:\n  default_limit: many\n")
    result = stack.run("config", "check")
    assert result.returncode == 2
    assert "bff.rate_limiting.default_limit" in result.stderr
    assert "config/bff.yml key 'rate_limiting.default_limit'" in result.stderr


def test_db_migrate_from_empty_then_again_then_check(stack: Stack, database_url: str) -> None:
    before = stack.run("db", "migrate", "--check", DATABASE_URL=database_url)
    assert before.returncode == 1
    assert (
        "pending: 0001_initial, 0002_versioned_store, 0003_commands_audit, 0004_pull_requests, "
        "0005_events_per_database, 0006_api_keys, 0007_projections, 0008_projection_jobs, "
        "0009_maintenance_mode" in before.stdout
    )

    first = stack.run("db", "migrate", DATABASE_URL=database_url)
    assert first.returncode == 0, first.stderr
    assert "applied 0001_initial" in first.stdout
    assert "applied 0002_versioned_store" in first.stdout

    again = stack.run("db", "migrate", DATABASE_URL=database_url)
    assert again.returncode == 0
    assert "applied" not in again.stdout
    assert "database at 0009_maintenance_mode" in again.stdout

    after = stack.run("db", "migrate", "--check", DATABASE_URL=database_url)
    assert after.returncode == 0
    assert "up to date at 0009_maintenance_mode" in after.stdout

    status = stack.run("db", "status", DATABASE_URL=database_url)
    assert status.returncode == 0
    assert "pending   none" in status.stdout


def test_db_commands_fail_with_one_line_when_the_database_is_unreachable(stack: Stack) -> None:
    result = stack.run("db", "status", DATABASE_URL="postgresql://postgres@127.0.0.1:1/x")
    assert result.returncode == 1
    assert result.stderr.strip().startswith("spice: cannot reach postgresql")
    assert len(result.stderr.strip().splitlines()) == 1


def test_production_refuses_an_unmigrated_database_until_db_migrate(
    stack: Stack, database_url: str
) -> None:
    refused = stack.run(
        "serve", "oms", "--env", "production", SECRET_KEY=SECRET, DATABASE_URL=database_url
    )
    assert refused.returncode == 1
    assert "run `spice db migrate`" in refused.stderr

    migrated = stack.run(
        "db", "migrate", "--env", "production", SECRET_KEY=SECRET, DATABASE_URL=database_url
    )
    assert migrated.returncode == 0
    oms = stack.spice(
        "serve", "oms", "--env", "production", SECRET_KEY=SECRET, DATABASE_URL=database_url
    )
    health = wait_for(f"{stack.url('oms')}/health").json()
    assert health["data"]["dependencies"]["database"] == "ok"
    assert stack.stop(oms) == 0
    # Production logs are JSON, one object per line.
    lines = (stack.root / "logs" / "oms.log").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert any("listening" in record["message"] for record in records)
    assert all({"time", "level", "service"} <= record.keys() for record in records)


def test_log_queries_writes_sql_statements_to_the_service_log(stack: Stack) -> None:
    oms = stack.spice("serve", "oms", LOG_QUERIES="true")
    wait_for(f"{stack.url('oms')}/health")
    stack.stop(oms)
    assert "SELECT 1" in (stack.root / "logs" / "oms.log").read_text()


def test_several_workers_serve_and_stop_cleanly(stack: Stack) -> None:
    funnel = stack.spice("serve", "funnel", FUNNEL_WORKERS="2")
    wait_for(f"{stack.url('funnel')}/health")
    assert stack.stop(funnel) == 0
