"""Log files as the manual's appendix B: names, daily rotation, how many days are kept."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from spice_harvester.observability.logging import (
    ACCESS_LOGGER,
    configure_logging,
    flush_logs,
    log_handlers,
    stop_logging,
)
from spice_harvester.settings import load_settings


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    access = logging.getLogger(ACCESS_LOGGER)
    saved = (list(root.handlers), root.level, list(access.handlers))
    yield
    for logger in (root, access):
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
            handler.close()
    stop_logging()
    for handler in saved[0]:
        root.addHandler(handler)
    root.setLevel(saved[1])
    for handler in saved[2]:
        access.addHandler(handler)


def rotation_of() -> dict[str, tuple[str, int]]:
    found = {}
    for handler in log_handlers():
        filename = getattr(handler, "baseFilename", None)
        if filename:
            found[Path(filename).name] = (getattr(handler, "when", ""), handler.backupCount)  # type: ignore[attr-defined]
    return found


@pytest.mark.usefixtures("restore_logging")
def test_each_file_rotates_daily_and_keeps_the_manuals_days(workdir: Path) -> None:
    configure_logging(load_settings(), "oms", console_level="WARNING")
    assert rotation_of() == {
        "oms.log": ("MIDNIGHT", 7),
        "error.log": ("MIDNIGHT", 30),
        "access.log": ("MIDNIGHT", 30),
    }


@pytest.mark.usefixtures("restore_logging")
def test_errors_also_reach_error_log_and_info_does_not(workdir: Path) -> None:
    configure_logging(load_settings(), "bff", console_level="CRITICAL")
    logging.getLogger("spice_harvester.test").info("routine line")
    logging.getLogger("spice_harvester.test").error("broken line")
    flush_logs()
    error_log = (workdir / "logs" / "error.log").read_text()
    service_log = (workdir / "logs" / "bff.log").read_text()
    assert "broken line" in error_log
    assert "routine line" not in error_log
    assert "routine line" in service_log
    assert "[bff" in service_log


@pytest.mark.usefixtures("restore_logging")
def test_production_writes_one_json_object_per_line(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "p" * 40)
    configure_logging(load_settings(), "funnel", console_level="CRITICAL")
    logging.getLogger("spice_harvester.test").warning("structured %s", "line")
    flush_logs()
    record = json.loads((workdir / "logs" / "funnel.log").read_text().splitlines()[-1])
    assert record["message"] == "structured line"
    assert record["level"] == "WARNING"
    assert record["service"] == "funnel"


@pytest.mark.usefixtures("restore_logging")
def test_a_rollover_keeps_the_old_day_beside_the_new_file(workdir: Path) -> None:
    configure_logging(load_settings(), "oms", console_level="CRITICAL")
    logging.getLogger("spice_harvester.test").warning("yesterday")
    flush_logs()
    handler = next(h for h in log_handlers() if getattr(h, "baseFilename", "").endswith("oms.log"))
    handler.doRollover()  # type: ignore[attr-defined]
    logging.getLogger("spice_harvester.test").warning("today")
    flush_logs()
    rotated = [path for path in (workdir / "logs").iterdir() if path.name.startswith("oms.log.")]
    assert len(rotated) == 1
    assert "yesterday" in rotated[0].read_text()
    assert "today" in (workdir / "logs" / "oms.log").read_text()
    assert "yesterday" not in (workdir / "logs" / "oms.log").read_text()
