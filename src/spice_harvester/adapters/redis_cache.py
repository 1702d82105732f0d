"""The optional Redis connection; every caller must cope with it being absent or down."""

from __future__ import annotations

from redis.asyncio import Redis

CONNECT_TIMEOUT = 1.0


def open_redis(url: str) -> Redis:
    """A client that fails fast, so a dead Redis slows nothing down for long."""
    return Redis.from_url(
        url,
        socket_connect_timeout=CONNECT_TIMEOUT,
        socket_timeout=CONNECT_TIMEOUT,
        health_check_interval=30,
    )


async def ping_redis(client: Redis) -> None:
    if not await client.ping():
        raise ConnectionError("redis did not answer PONG")
