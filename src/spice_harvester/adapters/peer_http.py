"""HTTP clients for talking to the other services (BFF to OMS).

httpx2, pydantic's continuation of httpx, rather than httpx itself: httpx's pool (httpcore
1.0) looks at every connection once per connection on every request, and closes every idle
one as soon as there are more than `max_keepalive_connections` in all, so under 50 clients
BFF spent about as much CPU in its pool as in everything else; httpcore also looked for
sniffio with an import that failed, walking sys.path, four times per request.
"""

from __future__ import annotations

import httpx2

# The manual's performance section: 50 keep-alive connections, 100 in all. An idle
# connection is dropped after 4 s, before the peer's own keep-alive timeout (uvicorn's 5 s)
# can close it just as a request goes out on it.
PEER_LIMITS = httpx2.Limits(max_keepalive_connections=50, max_connections=100, keepalive_expiry=4)


def open_peer_client(base_url: str, timeout: float) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(base_url=base_url, timeout=timeout, limits=PEER_LIMITS)


async def probe_peer_health(client: httpx2.AsyncClient, name: str) -> None:
    """Raises unless the peer's /health answers 200."""
    try:
        response = await client.get("/health")
    except httpx2.HTTPError as exc:
        raise ConnectionError(f"{name} unreachable at {client.base_url}: {exc!r}") from exc
    if response.status_code != 200:
        raise ConnectionError(f"{name} answered {response.status_code} at {client.base_url}")
