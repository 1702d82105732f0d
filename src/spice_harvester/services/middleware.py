"""Pure ASGI middleware shared by every service: request ids, access log, hosts, body size."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from spice_harvester.observability.context import request_id_var
from spice_harvester.observability.logging import ACCESS_LOGGER

access_log = logging.getLogger(ACCESS_LOGGER)
REQUEST_ID_HEADER = b"x-request-id"
_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _envelope_bytes(code: str, message: str) -> bytes:
    body = {
        "status": "error",
        "message": message,
        "data": None,
        "errors": [{"code": code, "message": message}],
    }
    return json.dumps(body).encode()


async def _send_error(send: Send, status: int, code: str, message: str) -> None:
    body = _envelope_bytes(code, message)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class AccessLogMiddleware:
    """Gives every request an id (echoed in X-Request-ID) and writes one combined-format line.

    The combined format keeps the client address first and the response size tenth, so the
    manual's `awk '{print $1}'` and `awk '$10 > 1000000'` recipes work on logs/access.log.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = _header(scope, REQUEST_ID_HEADER)
        request_id = offered if offered and _CLIENT_REQUEST_ID.match(offered) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        outcome: dict[str, int] = {"status": 500, "size": 0}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                outcome["status"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER, request_id.encode()))
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body":
                outcome["size"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._log(scope, outcome, time.perf_counter() - started, request_id)
            request_id_var.reset(token)

    @staticmethod
    def _log(scope: Scope, outcome: dict[str, int], elapsed: float, request_id: str) -> None:
        client = scope.get("client")
        address = client[0] if client else "-"
        path = scope.get("raw_path", scope["path"].encode()).decode("latin-1")
        if scope.get("query_string"):
            path += "?" + scope["query_string"].decode("latin-1")
        when = datetime.now(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")
        version = scope.get("http_version", "1.1")
        referer = _header(scope, b"referer") or "-"
        agent = _header(scope, b"user-agent") or "-"
        access_log.info(
            '%s - - [%s] "%s %s HTTP/%s" %d %d "%s" "%s" %.4f %s',
            address,
            when,
            scope["method"],
            path,
            version,
            outcome["status"],
            outcome["size"],
            referer.replace('"', "%22"),
            agent.replace('"', "%22"),
            elapsed,
            request_id,
        )


class TrustedHostMiddleware:
    """Refuses requests whose Host header is not in ALLOWED_HOSTS, in the response envelope."""

    def __init__(self, app: ASGIApp, allowed_hosts: list[str]) -> None:
        self.app = app
        self.allow_any = "*" in allowed_hosts
        self.exact = {host.lower() for host in allowed_hosts if not host.startswith("*.")}
        self.suffixes = tuple(host[1:].lower() for host in allowed_hosts if host.startswith("*."))

    def allows(self, host_header: str) -> bool:
        host = host_header.lower()
        host = host[: host.index("]") + 1] if host.startswith("[") else host.split(":", 1)[0]
        return host in self.exact or (bool(self.suffixes) and host.endswith(self.suffixes))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.allow_any:
            await self.app(scope, receive, send)
            return
        host = _header(scope, b"host") or ""
        if not self.allows(host):
            await _send_error(send, 400, "invalid_host", f"host '{host}' is not allowed")
            return
        await self.app(scope, receive, send)


class BodySizeLimitMiddleware:
    """Answers 413 for bodies over the limit: uploads (multipart, NDJSON) and JSON each have
    their own."""

    def __init__(self, app: ASGIApp, max_request_bytes: int, max_upload_bytes: int) -> None:
        self.app = app
        self.max_request_bytes = max_request_bytes
        self.max_upload_bytes = max_upload_bytes

    def limit_for(self, scope: Scope) -> int:
        content_type = (_header(scope, b"content-type") or "").lower()
        # An import's rows stream as NDJSON: an upload, however it is sent.
        is_upload = content_type.startswith(("multipart/form-data", "application/x-ndjson"))
        return self.max_upload_bytes if is_upload else self.max_request_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _send_error(send, 413, "payload_too_large", _too_large(limit))
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Chunked bodies carry no length up front; stop reading as soon as we know.
                    raise HTTPException(413, _too_large(limit))
            return message

        await self.app(scope, counting_receive, send)


def _too_large(limit: int) -> str:
    return f"request body is larger than the limit of {limit} bytes"
