"""BFF's OMS client against a real HTTP peer on a loopback port that answers as scripted:
retries for reads only, errors passed on as they came, the in-flight bound, timeouts."""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx2
import pytest

from spice_harvester.adapters.oms_client import Forwarded, OmsClient
from spice_harvester.adapters.peer_http import open_peer_client
from spice_harvester.domain.errors import DependencyUnavailable, PeerError
from spice_harvester.observability.context import request_id_var
from tests.postgres import unused_port

Answer = tuple[int, str, bytes]  # status, content type, body
FORWARDED = Forwarded("alice", {"Accept-Language": "ko"})


def envelope(status: int, code: str | None = None, **data: Any) -> Answer:
    errors = None if code is None else [{"code": code, "message": f"{code}!", "field": "name"}]
    body = {
        "status": "error" if code else "success",
        "message": code or "ok",
        "data": data or None,
        "errors": errors,
    }
    return status, "application/json", json.dumps(body).encode()


@dataclass
class Peer:
    """An HTTP/1.1 server answering each request with the next scripted answer (the last one
    repeats), after `delay` seconds; it records every request's method and headers. The first
    `resets` requests get their connection reset instead of an answer."""

    answers: list[Answer]
    delay: float = 0.0
    resets: int = 0
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                method, *_ = head.decode("latin-1").split(" ", 1)
                headers = dict(
                    line.split(": ", 1) for line in head.decode("latin-1").split("\r\n")[1:-2]
                )
                length = int(headers.get("content-length", headers.get("Content-Length", "0")))
                await reader.readexactly(length)
                self.seen.append((method, {k.lower(): v for k, v in headers.items()}))
                if len(self.seen) <= self.resets:
                    # Linger 0: closing sends RST, as a peer that dropped the connection.
                    linger = struct.pack("ii", 1, 0)
                    writer.get_extra_info("socket").setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, linger
                    )
                    writer.transport.abort()
                    return
                self.in_flight += 1
                self.most_in_flight = max(self.most_in_flight, self.in_flight)
                await asyncio.sleep(self.delay)
                self.in_flight -= 1
                status, kind, body = self.answers[min(len(self.seen), len(self.answers)) - 1]
                writer.write(
                    f"HTTP/1.1 {status} X\r\ncontent-type: {kind}\r\n"
                    f"content-length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def serving(peer: Peer) -> AsyncIterator[str]:
    server = await asyncio.start_server(peer.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}"


def run(peer: Peer | None, test: Callable[[OmsClient], Awaitable[None]], **options: Any) -> None:
    async def main() -> None:
        if peer is None:
            client = OmsClient(open_peer_client(f"http://127.0.0.1:{unused_port()}", 5), **options)
            async with client.http:
                await test(client)
            return
        async with serving(peer) as url:
            timeout = options.pop("timeout", 5.0)
            async with open_peer_client(url, timeout) as http:
                await test(OmsClient(http, backoff=0.01, **options))

    asyncio.run(main())


def test_a_read_is_retried_through_502_503_and_504() -> None:
    peer = Peer([envelope(503), envelope(504), envelope(200, thing=1)])

    async def test(client: OmsClient) -> None:
        answer = await client.call("GET", "/api/v1/thing", FORWARDED)
        assert answer.status == 200
        assert answer.data == {"thing": 1}

    run(peer, test)
    assert [method for method, _ in peer.seen] == ["GET", "GET", "GET"]


def test_a_read_that_keeps_failing_answers_oms_s_own_error() -> None:
    peer = Peer([envelope(503, "dependency_unavailable", dependency="database")])

    async def test(client: OmsClient) -> None:
        with pytest.raises(PeerError) as caught:
            await client.call("GET", "/api/v1/thing", FORWARDED)
        assert (caught.value.status, caught.value.code) == (503, "dependency_unavailable")
        assert caught.value.data == {"dependency": "database"}

    run(peer, test, attempts=4)
    assert len(peer.seen) == 4


def test_a_read_whose_connection_is_reset_is_sent_again_but_a_write_is_not() -> None:
    peer = Peer([envelope(200, thing=1)], resets=1)

    async def test(client: OmsClient) -> None:
        answer = await client.call("GET", "/api/v1/thing", FORWARDED)
        assert answer.data == {"thing": 1}

    run(peer, test)
    assert [method for method, _ in peer.seen] == ["GET", "GET"]

    writes = Peer([envelope(202)], resets=1)

    async def write(client: OmsClient) -> None:
        with pytest.raises(DependencyUnavailable):
            await client.call("POST", "/api/v1/thing", FORWARDED, json={})

    run(writes, write)
    assert [method for method, _ in writes.seen] == ["POST"]


def test_a_write_is_never_retried() -> None:
    peer = Peer([envelope(503, "dependency_unavailable"), envelope(202)])

    async def test(client: OmsClient) -> None:
        with pytest.raises(PeerError) as caught:
            await client.call("POST", "/api/v1/thing", FORWARDED, json={"a": 1})
        assert caught.value.status == 503

    run(peer, test)
    assert [method for method, _ in peer.seen] == ["POST"]


def test_an_error_keeps_status_code_message_field_data_and_every_item() -> None:
    body = {
        "status": "error",
        "message": "Person/1 is at version 3, not 2",
        "data": {"aggregate_id": "Person/1", "expected_seq": 2, "actual_seq": 3},
        "errors": [
            {"code": "occ_conflict", "message": "stale", "field": "expected_seq"},
            {"code": "occ_conflict", "message": "also stale"},
        ],
    }
    peer = Peer([(409, "application/json", json.dumps(body).encode())])

    async def test(client: OmsClient) -> None:
        with pytest.raises(PeerError) as caught:
            await client.call("PUT", "/api/v1/thing", FORWARDED, json={})
        error = caught.value
        assert (error.status, error.code, error.field) == (409, "occ_conflict", "expected_seq")
        assert error.message == body["message"]
        assert error.data == body["data"]
        assert error.errors == body["errors"]

    run(peer, test)


def test_an_answer_that_is_not_json_is_a_bad_gateway() -> None:
    peer = Peer([(502, "text/html", b"<h1>Bad gateway</h1>")])

    async def test(client: OmsClient) -> None:
        with pytest.raises(PeerError) as caught:
            await client.call("GET", "/api/v1/thing", FORWARDED)
        assert (caught.value.status, caught.value.code) == (502, "dependency_unavailable")

    run(peer, test, attempts=2)
    assert len(peer.seen) == 2


def test_an_unreachable_oms_is_dependency_unavailable_for_reads_and_writes() -> None:
    async def test(client: OmsClient) -> None:
        for method in ("GET", "POST"):
            with pytest.raises(DependencyUnavailable) as caught:
                await client.call(method, "/api/v1/thing", FORWARDED)
            assert caught.value.dependency == "oms"
            assert "unreachable" in caught.value.message

    run(None, test, backoff=0.01)


def test_no_answer_within_the_timeout_is_dependency_unavailable() -> None:
    peer = Peer([envelope(200)], delay=2)

    async def test(client: OmsClient) -> None:
        with pytest.raises(DependencyUnavailable) as caught:
            await client.call("POST", "/api/v1/thing", FORWARDED)
        assert "no answer within 0.2 s" in caught.value.message

    run(peer, test, timeout=0.2)


def test_requests_in_flight_never_pass_the_bound() -> None:
    peer = Peer([envelope(200)], delay=0.05)

    async def test(client: OmsClient) -> None:
        answers = await asyncio.gather(
            *(client.call("GET", f"/api/v1/thing/{i}", FORWARDED) for i in range(12))
        )
        assert all(answer.status == 200 for answer in answers)

    run(peer, test, max_in_flight=3)
    assert len(peer.seen) == 12
    assert peer.most_in_flight == 3


def test_the_actor_request_id_and_client_headers_reach_oms() -> None:
    peer = Peer([envelope(202)])
    forwarded = Forwarded.of(
        "alice",
        httpx2.Headers({"idempotency-key": "k-1", "accept-language": "ko-KR", "x-other": "no"}),
    )

    async def test(client: OmsClient) -> None:
        token = request_id_var.set("req-42")
        try:
            await client.call("POST", "/api/v1/thing", forwarded, json={})
        finally:
            request_id_var.reset(token)

    run(peer, test)
    [(_, headers)] = peer.seen
    assert headers["x-actor"] == "alice"
    assert headers["idempotency-key"] == "k-1"
    assert headers["accept-language"] == "ko-KR"
    assert headers["x-request-id"] == "req-42"
    assert "x-other" not in headers
