"""The maintenance switch on every engine: one row, audited changes, and each process's
cached view of it (MaintenanceGate), also when its source cannot be reached."""

from __future__ import annotations

import asyncio
import time

import httpx2
import pytest

from spice_harvester.adapters.maintenance_http import OmsMaintenance
from spice_harvester.adapters.sql.audit import SqlAuditLog
from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.maintenance import SqlMaintenance
from spice_harvester.application.maintenance import MaintenanceGate, MaintenanceSwitch
from spice_harvester.domain.errors import MalformedInput
from spice_harvester.ports.maintenance import (
    DEFAULT_MESSAGE,
    MaintenanceSource,
    MaintenanceStore,
)
from tests.postgres import unused_port


def _as_ports(store: SqlMaintenance) -> tuple[MaintenanceStore, MaintenanceSource]:
    return store, store


@pytest.fixture
def store(migrated: SqlDatabase) -> SqlMaintenance:
    return SqlMaintenance(migrated)


@pytest.fixture
def switch(store: SqlMaintenance, migrated: SqlDatabase) -> MaintenanceSwitch:
    return MaintenanceSwitch(store, SqlAuditLog(migrated))


def test_it_starts_off_and_turning_it_on_and_off_is_read_back_and_audited(
    switch: MaintenanceSwitch, store: SqlMaintenance, migrated: SqlDatabase
) -> None:
    assert _as_ports(store) == (store, store)
    fresh = store.read()
    assert not fresh.enabled
    assert fresh.changed_at is None

    switch.turn_on(message="Upgrading to 0.2", retry_after=120, actor="ops", service="cli")
    state = store.read()
    assert state.enabled
    assert (state.message, state.retry_after, state.changed_by) == ("Upgrading to 0.2", 120, "ops")
    assert state.changed_at is not None
    assert state.changed_at.tzinfo is not None

    switch.turn_off(actor="ops", service="cli")
    assert not store.read().enabled
    audit = SqlAuditLog(migrated)
    actions = [entry.action for entry in audit.query()]
    assert actions == ["maintenance.off", "maintenance.on"]
    assert audit.query(action="maintenance.on")[0].details["message"] == "Upgrading to 0.2"
    assert audit.check().holds


def test_bad_input_changes_nothing_and_no_message_means_the_default(
    switch: MaintenanceSwitch, store: SqlMaintenance
) -> None:
    with pytest.raises(MalformedInput, match="at most 1000"):
        switch.turn_on(message="x" * 1001, retry_after=None, actor="ops", service="cli")
    with pytest.raises(MalformedInput, match="retry_after"):
        switch.turn_on(message=None, retry_after=0, actor="ops", service="cli")
    assert not store.read().enabled

    switch.turn_on(message="  ", retry_after=None, actor="ops", service="cli")
    state = store.read()
    assert state.message is None
    assert state.notice == DEFAULT_MESSAGE
    assert state.as_dict()["message"] == DEFAULT_MESSAGE


def test_the_gate_reads_at_most_once_per_ttl_unless_invalidated(
    switch: MaintenanceSwitch, store: SqlMaintenance
) -> None:
    async def scenario() -> None:
        gate = MaintenanceGate(store, ttl=60)
        assert not (await gate.state()).enabled
        switch.turn_on(message="now", retry_after=None, actor="ops", service="cli")
        assert not (await gate.state()).enabled  # still trusted for 60 s
        gate.invalidate()
        assert (await gate.state()).enabled

        quick = MaintenanceGate(store, ttl=0.1)
        assert (await quick.state()).enabled
        switch.turn_off(actor="ops", service="cli")
        await asyncio.sleep(0.15)
        assert not (await quick.state()).enabled

    asyncio.run(scenario())


def test_a_gate_whose_source_is_unreachable_keeps_the_last_state_and_answers_fast() -> None:
    async def scenario() -> None:
        client = httpx2.AsyncClient(base_url=f"http://127.0.0.1:{unused_port()}")
        gate = MaintenanceGate(OmsMaintenance(client), ttl=0.05)
        try:
            started = time.monotonic()
            for _ in range(3):
                assert not (await gate.state()).enabled
                await asyncio.sleep(0.06)
            assert time.monotonic() - started < 2
        finally:
            await client.aclose()

    asyncio.run(scenario())
