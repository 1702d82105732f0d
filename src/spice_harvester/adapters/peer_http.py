"""HTTP clients for talking to the other services (BFF to OMS)."""

from __future__ import annotations

import httpx

# The manual's performance section: 50 keep-alive connections, 100 in all.
PEER_LIMITS = httpx.Limits(max_keepalive_connections=50, max_connections=100)


def open_peer_client(base_url: str, timeout: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=PEER_LIMITS)


async def probe_peer_health(client: httpx.AsyncClient, name: str) -> None:
    """Raises unless the peer's /health answers 200."""
    try:
        response = await client.get("/health")
    except httpx.HTTPError as exc:
        raise ConnectionError(f"{name} unreachable at {client.base_url}: {exc!r}") from exc
    if response.status_code != 200:
        raise ConnectionError(f"{name} answered {response.status_code} at {client.base_url}")
