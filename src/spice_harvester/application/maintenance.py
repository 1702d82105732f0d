"""Turning maintenance mode on and off (audited), and each process's cached view of it.

The switch lives in one shared place; each process keeps what it last read for at most
`ttl` seconds, so a change reaches every running process within about a second without a
restart, while a busy service reads the switch only once a second rather than per request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Final

from spice_harvester.domain.errors import MalformedInput
from spice_harvester.ports.audit import AuditLog
from spice_harvester.ports.maintenance import (
    DEFAULT_RETRY_AFTER,
    MAX_MESSAGE,
    OFF,
    MaintenanceSource,
    MaintenanceState,
    MaintenanceStore,
)

log = logging.getLogger(__name__)
# How long a process trusts what it read: changes take effect within this (plus one read).
GATE_TTL_SECONDS: Final = 1.0
MAX_RETRY_AFTER: Final = 7 * 86_400


class MaintenanceSwitch:
    """Sets the switch and records who did, in the hash-chained audit log."""

    def __init__(self, store: MaintenanceStore, audit: AuditLog) -> None:
        self._store = store
        self._audit = audit

    def read(self) -> MaintenanceState:
        return self._store.read()

    def turn_on(
        self,
        *,
        message: str | None,
        retry_after: int | None,
        actor: str,
        service: str,
        client: str | None = None,
    ) -> MaintenanceState:
        text = (message or "").strip() or None
        if text is not None and len(text) > MAX_MESSAGE:
            raise MalformedInput(
                f"the maintenance message is at most {MAX_MESSAGE} characters", field="message"
            )
        seconds = DEFAULT_RETRY_AFTER if retry_after is None else retry_after
        if not 1 <= seconds <= MAX_RETRY_AFTER:
            raise MalformedInput(
                f"retry_after must be between 1 and {MAX_RETRY_AFTER} seconds",
                field="retry_after",
            )
        state = MaintenanceState(True, text, seconds, datetime.now(UTC), actor)
        return self._record(state, "maintenance.on", service, client)

    def turn_off(self, *, actor: str, service: str, client: str | None = None) -> MaintenanceState:
        state = MaintenanceState(False, None, DEFAULT_RETRY_AFTER, datetime.now(UTC), actor)
        return self._record(state, "maintenance.off", service, client)

    def _record(
        self, state: MaintenanceState, action: str, service: str, client: str | None
    ) -> MaintenanceState:
        before = self._store.read()
        written = self._store.write(state)
        self._audit.append(
            service=service,
            actor=state.changed_by or "system",
            action=action,
            outcome="done",
            target="maintenance",
            client=client,
            details={
                "message": state.message,
                "retry_after": state.retry_after,
                "was_enabled": before.enabled,
            },
        )
        return written


class MaintenanceGate:
    """What a running service consults per request: the switch, read at most once per `ttl`.

    One reader at a time refreshes it; the others wait for that read rather than start their
    own. A failed read keeps the last known state (logged once per outage): the database or
    OMS being down is for /health to report, not a reason to open or close the gate.
    """

    def __init__(self, source: MaintenanceSource, ttl: float = GATE_TTL_SECONDS) -> None:
        self._source = source
        self._ttl = ttl
        self._state: MaintenanceState = OFF
        self._fresh_until = 0.0
        self._failing = False
        self._lock = asyncio.Lock()

    async def state(self) -> MaintenanceState:
        if time.monotonic() < self._fresh_until:
            return self._state
        async with self._lock:
            if time.monotonic() >= self._fresh_until:
                await self._refresh()
        return self._state

    def invalidate(self) -> None:
        """Makes the next request read the switch again (after this process changed it)."""
        self._fresh_until = 0.0

    async def _refresh(self) -> None:
        try:
            self._state = await self._source.fetch()
        except Exception as exc:  # any failure to read keeps the last known state
            if not self._failing:
                log.warning("cannot read the maintenance switch, keeping the last state: %s", exc)
            self._failing = True
        else:
            if self._failing:
                log.info("the maintenance switch is readable again")
            self._failing = False
        self._fresh_until = time.monotonic() + self._ttl
