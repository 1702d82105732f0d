"""Settings: precedence (environment > .env > YAML > defaults), validation, aliases."""

from __future__ import annotations

from pathlib import Path

import pytest

from spice_harvester.domain.errors import ConfigurationError
from spice_harvester.settings import load_settings

REPO = Path(__file__).resolve().parents[2]


def write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def test_defaults_are_the_manuals_values(workdir: Path) -> None:
    settings = load_settings()
    assert (settings.oms.server.port, settings.bff.server.port, settings.funnel.server.port) == (
        8000,
        8002,
        8003,
    )
    assert settings.oms.database.pool_size == 10
    assert settings.oms.database.max_overflow == 20
    assert settings.oms.database.pool_timeout == 30
    assert settings.oms.validation.max_property_count == 100
    assert settings.oms.validation.max_relationship_depth == 5
    assert settings.bff.rate_limiting.default_limit == 1000
    assert settings.bff.rate_limiting.window_seconds == 60
    assert settings.database_dsn == f"sqlite:///{workdir / 'data' / 'spice.sqlite3'}"
    assert settings.redis_url is None
    assert settings.nats_url is None


def test_yaml_overrides_defaults_and_environment_overrides_yaml(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(workdir / "config" / "oms.yml", "database:\n  pool_size: 7\n  max_overflow: 3\n")
    assert load_settings().oms.database.pool_size == 7
    monkeypatch.setenv("OMS__DATABASE__POOL_SIZE", "12")
    settings = load_settings()
    assert settings.oms.database.pool_size == 12
    assert settings.oms.database.max_overflow == 3  # untouched keys keep the YAML value


def test_dotenv_sits_between_the_environment_and_yaml(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(workdir / "config" / "bff.yml", "rate_limiting:\n  default_limit: 10\n")
    write(workdir / ".env", "BFF__RATE_LIMITING__DEFAULT_LIMIT=20\nLOG_LEVEL=WARNING\n")
    assert load_settings().bff.rate_limiting.default_limit == 20
    monkeypatch.setenv("BFF__RATE_LIMITING__DEFAULT_LIMIT", "30")
    settings = load_settings()
    assert settings.bff.rate_limiting.default_limit == 30
    assert settings.log_level == "WARNING"


def test_port_variables_of_the_manual_set_the_service_port_and_its_url(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(workdir / "config" / "oms.yml", "server:\n  port: 8100\n")
    monkeypatch.setenv("OMS_PORT", "9100")
    monkeypatch.setenv("FUNNEL_HOST", "127.0.0.1")
    settings = load_settings()
    assert settings.oms.server.port == 9100
    assert settings.funnel.server.host == "127.0.0.1"
    assert settings.base_url("oms") == "http://localhost:9100"


def test_an_explicit_base_url_wins_over_the_derived_one(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMS_BASE_URL", "http://oms.internal:8000/")
    assert load_settings().base_url("oms") == "http://oms.internal:8000"


def test_the_environment_overlay_file_is_read_below_the_service_files(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(
        workdir / "config" / "production.yml",
        "worker_processes: 4\nallowed_hosts: [a.example]\noms:\n  database:\n    pool_size: 40\n",
    )
    write(workdir / "config" / "oms.yml", "database:\n  pool_size: 50\n")
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "k" * 40)
    settings = load_settings()
    assert settings.worker_processes == 4
    assert settings.allowed_hosts == ["a.example"]
    assert settings.oms.database.pool_size == 50


def test_comma_separated_lists_are_split(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOWED_HOSTS", "api.example.com, localhost")
    monkeypatch.setenv("CORS_ORIGINS", "https://app.example.com")
    settings = load_settings()
    assert settings.allowed_hosts == ["api.example.com", "localhost"]
    assert settings.cors_origins == ["https://app.example.com"]


def test_a_bad_environment_value_names_the_key_and_the_variable(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMS__DATABASE__POOL_SIZE", "ten")
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    assert "oms.database.pool_size" in caught.value.message
    assert "OMS__DATABASE__POOL_SIZE" in caught.value.message
    assert "'ten'" in caught.value.message


def test_a_bad_yaml_value_names_the_file_key(workdir: Path) -> None:
    write(workdir / "config" / "bff.yml", "rate_limiting:\n  window_seconds: -5\n")
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    assert "bff.rate_limiting.window_seconds" in caught.value.message
    assert "config/bff.yml key 'rate_limiting.window_seconds'" in caught.value.message


def test_a_misspelt_yaml_key_stops_start_up(workdir: Path) -> None:
    write(workdir / "config" / "oms.yml", "database:\n  pool_sise: 5\n")
    with pytest.raises(ConfigurationError, match=r"oms\.database\.pool_sise"):
        load_settings()


def test_an_unknown_top_level_key_in_an_overlay_is_named(workdir: Path) -> None:
    write(workdir / "config" / "development.yml", "log_levle: DEBUG\n")
    with pytest.raises(ConfigurationError, match="unknown key 'log_levle'"):
        load_settings()


def test_broken_yaml_is_reported_with_its_file(workdir: Path) -> None:
    write(workdir / "config" / "funnel.yml", "server: [unclosed\n")
    with pytest.raises(ConfigurationError, match=r"funnel\.yml is not valid YAML"):
        load_settings()


@pytest.mark.parametrize(
    ("variable", "value", "key"),
    [
        ("DATABASE_URL", "mysql://x", "database_url"),
        ("REDIS_URL", "http://x", "redis_url"),
        ("NATS_URL", "redis://x", "nats_url"),
        ("LOG_LEVEL", "LOUD", "log_level"),
        ("APP_ENV", "staging", "app_env"),
        ("OMS_PORT", "70000", "oms.server.port"),
        ("REQUEST_TIMEOUT", "0", "request_timeout"),
    ],
)
def test_each_invalid_value_is_refused_by_name(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, key: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=f"setting '{key}'"):
        load_settings()


def test_production_refuses_to_start_without_a_real_secret_key(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        load_settings()
    monkeypatch.setenv("SECRET_KEY", "your-secret-key-here")
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        load_settings()
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    assert load_settings().is_production


def test_the_shipped_env_example_and_config_files_load_cleanly(workdir: Path) -> None:
    (workdir / ".env").write_text((REPO / ".env.example").read_text(encoding="utf-8"))
    for name in ("oms", "bff", "funnel", "worker"):
        source = REPO / "config" / f"{name}.yml"
        (workdir / "config" / f"{name}.yml").write_text(source.read_text(encoding="utf-8"))
    settings = load_settings()
    assert settings.oms.server.port == 8000
    assert settings.log_level == "INFO"
    assert settings.database_url is None
    assert settings.worker.batch_size == 500


def test_the_worker_reads_its_own_yaml_file_and_its_variables(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (workdir / "config" / "worker.yml").write_text("max_attempts: 8\ndatabase:\n  pool_size: 3\n")
    monkeypatch.setenv("WORKER__POLL_SECONDS", "0.1")
    settings = load_settings()
    assert (settings.worker.max_attempts, settings.worker.poll_seconds) == (8, 0.1)
    assert settings.worker.database.pool_size == 3
    (workdir / "config" / "worker.yml").write_text("batch_size: 0\n")
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    assert "config/worker.yml key 'batch_size'" in raised.value.message


def test_every_manual_variable_is_a_setting() -> None:
    from spice_harvester.settings import Settings

    manual = [
        "APP_NAME",
        "APP_ENV",
        "DEBUG",
        "LOG_LEVEL",
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "CORS_ORIGINS",
        "TERMINUS_SERVER_URL",
        "TERMINUS_USER",
        "TERMINUS_ACCOUNT",
        "TERMINUS_KEY",
        "OMS_BASE_URL",
        "BFF_BASE_URL",
        "FUNNEL_BASE_URL",
        "WORKER_PROCESSES",
        "WORKER_CONNECTIONS",
        "REQUEST_TIMEOUT",
        "DATABASE_URL",
        "REDIS_URL",
        "NATS_URL",
        "BFF_ADMIN_TOKEN",
        "ENABLE_OMS_ROLLBACK",
        "LOG_QUERIES",
    ]
    example = (REPO / ".env.example").read_text(encoding="utf-8")
    for variable in manual:
        assert variable.lower() in Settings.model_fields, variable
        assert f"\n{variable}=" in example, variable
