"""Funnel's view of maintenance mode: it has no database, so it asks OMS, which does.

OMS's `GET /api/v1/admin/maintenance` is never refused for maintenance, so the answer is
there while the switch is on. Each Funnel process asks at most once a second, and only while
it is serving requests (see application.maintenance.MaintenanceGate).
"""

from __future__ import annotations

from typing import Final

import httpx2

from spice_harvester.ports.maintenance import OFF, MaintenanceState

PATH: Final = "/api/v1/admin/maintenance"
# Short: a request that comes when the switch is due to be read waits at most this long.
TIMEOUT_SECONDS: Final = 1.0


class OmsMaintenance:
    def __init__(self, client: httpx2.AsyncClient) -> None:
        self._client = client

    async def fetch(self) -> MaintenanceState:
        try:
            response = await self._client.get(PATH, timeout=TIMEOUT_SECONDS)
        except httpx2.HTTPError as exc:
            raise ConnectionError(f"OMS unreachable at {self._client.base_url}: {exc!r}") from exc
        if response.status_code == 404:
            return OFF  # an OMS from before maintenance mode existed
        if response.status_code != 200:
            raise ConnectionError(f"OMS answered {response.status_code} for {PATH}")
        data = response.json().get("data")
        if not isinstance(data, dict):
            raise ConnectionError(f"OMS answered {PATH} without a state")
        return MaintenanceState.from_dict(data)

    async def aclose(self) -> None:
        await self._client.aclose()
