"""BFF's client for OMS: the pooled connections, a bound on requests in flight, retried reads,
and OMS's own errors passed on unchanged."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx2
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    retry_if_result,
    stop_after_attempt,
    wait_exponential_jitter,
)

from spice_harvester.domain.errors import DependencyUnavailable, PeerError
from spice_harvester.observability.context import request_id_var

# Only reads are retried: a write that reached OMS must never be applied twice.
RETRIED_METHODS = frozenset({"GET", "HEAD"})
RETRIED_STATUSES = frozenset({502, 503, 504})
# The request never reached OMS, or the connection died before any answer (a kept-alive
# connection OMS closed just as the request went out shows as a read or write error).
RETRIED_ERRORS = (
    httpx2.ConnectError,
    httpx2.ConnectTimeout,
    httpx2.RemoteProtocolError,
    httpx2.ReadError,
    httpx2.WriteError,
)
# What a BFF request passes on to OMS as it came.
FORWARDED_HEADERS = ("Idempotency-Key", "X-Command-ID", "Accept-Language")
CODE_BY_STATUS = {
    400: "validation_failed",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    413: "payload_too_large",
    422: "validation_failed",
    429: "rate_limited",
    502: "dependency_unavailable",
    503: "dependency_unavailable",
    504: "dependency_unavailable",
}


@dataclass(frozen=True)
class Forwarded:
    """Who asks (sent as `X-Actor`) and the headers of the client's request OMS must see."""

    actor: str
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, actor: str, request_headers: Mapping[str, str]) -> Forwarded:
        kept = {
            name: request_headers[name] for name in FORWARDED_HEADERS if name in request_headers
        }
        return cls(actor, kept)

    def as_headers(self) -> dict[str, str]:
        headers = {"X-Actor": self.actor, **self.headers}
        request_id = request_id_var.get()
        if request_id != "-":
            headers["X-Request-ID"] = request_id
        return headers


@dataclass(frozen=True)
class OmsAnswer:
    """A successful answer: its status and the envelope `{status, message, data, errors}`."""

    status: int
    body: dict[str, Any]

    @property
    def data(self) -> Any:
        return self.body.get("data")

    @property
    def message(self) -> str:
        return str(self.body.get("message", ""))


class OmsClient:
    """Every call goes through here. At most `max_in_flight` requests are on the wire at once
    (a caller waits for a slot, up to the timeout); GET and HEAD are retried with back-off
    on connection failures and on 502/503/504; an error answer becomes a `PeerError` with
    OMS's status, code, message, field and data, and an unreachable OMS is 503."""

    def __init__(
        self,
        http: httpx2.AsyncClient,
        *,
        max_in_flight: int = 100,
        attempts: int = 3,
        backoff: float = 0.1,
        max_backoff: float = 2.0,
    ) -> None:
        self.http = http
        self.max_in_flight = max_in_flight
        self.attempts = attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._slots = asyncio.Semaphore(max_in_flight)

    @property
    def base_url(self) -> str:
        return str(self.http.base_url).rstrip("/")

    async def call(
        self,
        method: str,
        path: str,
        forwarded: Forwarded,
        *,
        params: Any = None,
        json: Any = None,
    ) -> OmsAnswer:
        """OMS's answer to one request, or its error raised as `PeerError`."""
        method = method.upper()
        headers = forwarded.as_headers()
        try:
            if method in RETRIED_METHODS:
                response = await self._retried(method, path, headers, params)
            else:
                response = await self._send(method, path, headers, params, json)
        except httpx2.TimeoutException as exc:
            raise DependencyUnavailable("oms", f"no answer within {self._timeout()} s") from exc
        except httpx2.HTTPError as exc:
            raise DependencyUnavailable("oms", f"unreachable at {self.base_url} ({exc!r})") from exc
        return _answer(response)

    async def send_stream(
        self,
        path: str,
        forwarded: Forwarded,
        content: AsyncIterable[bytes],
        *,
        content_type: str,
        params: Any = None,
        timeout: float | None = None,
    ) -> OmsAnswer:
        """POSTs a body as it is produced (an import's rows), never retried; `timeout` for
        the answer when the work behind it takes longer than a request usually does."""
        headers = {**forwarded.as_headers(), "Content-Type": content_type}
        read = timeout if timeout is not None else self._timeout()
        limits = httpx2.Timeout(self.http.timeout.connect, read=read, write=read, pool=read)
        try:
            async with self._slot():
                response = await self.http.request(
                    "POST", path, headers=headers, params=params, content=content, timeout=limits
                )
        except httpx2.TimeoutException as exc:
            raise DependencyUnavailable("oms", f"no answer within {read} s") from exc
        except httpx2.HTTPError as exc:
            raise DependencyUnavailable("oms", f"unreachable at {self.base_url} ({exc!r})") from exc
        return _answer(response)

    @asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        try:
            async with asyncio.timeout(self._timeout()):
                await self._slots.acquire()
        except TimeoutError:
            raise DependencyUnavailable(
                "oms", f"{self.max_in_flight} requests already in flight"
            ) from None
        try:
            yield
        finally:
            self._slots.release()

    async def _retried(
        self, method: str, path: str, headers: dict[str, str], params: Any
    ) -> httpx2.Response:
        # Nearly every read is answered at once, so the first attempt goes without tenacity,
        # whose bookkeeping took about 5% of BFF's own time per request.
        try:
            response = await self._send(method, path, headers, params, None)
        except RETRIED_ERRORS:
            if self.attempts < 2:
                raise
        else:
            if self.attempts < 2 or response.status_code not in RETRIED_STATUSES:
                return response
        await asyncio.sleep(min(self.max_backoff, self.backoff * (1 + random.random())))
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.attempts - 1),
            # Pauses double from the first one above, each with up to `backoff` of jitter.
            wait=wait_exponential_jitter(
                multiplier=2 * self.backoff, jitter=self.backoff, max=self.max_backoff
            ),
            retry=(
                retry_if_exception_type(RETRIED_ERRORS)
                | retry_if_result(lambda r: r.status_code in RETRIED_STATUSES)
            ),
            retry_error_callback=_last_outcome,
        )
        retried: httpx2.Response = await retrying(self._send, method, path, headers, params, None)
        return retried

    async def _send(
        self, method: str, path: str, headers: dict[str, str], params: Any, json: Any
    ) -> httpx2.Response:
        if self._slots.locked():
            # Waiting for a slot counts against the same timeout as the request itself.
            try:
                async with asyncio.timeout(self._timeout()):
                    await self._slots.acquire()
            except TimeoutError:
                raise DependencyUnavailable(
                    "oms", f"{self.max_in_flight} requests already in flight"
                ) from None
        else:
            await self._slots.acquire()  # a free slot: taken at once
        try:
            return await self.http.request(method, path, headers=headers, params=params, json=json)
        finally:
            self._slots.release()

    def _timeout(self) -> float:
        timeout = self.http.timeout.read
        return timeout if timeout is not None else 30.0


def _last_outcome(state: RetryCallState) -> httpx2.Response:
    """When the attempts run out: the last answer, or the last error raised again."""
    assert state.outcome is not None
    response: httpx2.Response = state.outcome.result()
    return response


def _answer(response: httpx2.Response) -> OmsAnswer:
    body = _envelope(response)
    if response.status_code >= 400:
        raise peer_error(response.status_code, body, response.reason_phrase)
    if body is None:
        raise PeerError(
            502, "dependency_unavailable", "OMS answered with something other than JSON"
        )
    return OmsAnswer(response.status_code, body)


def _envelope(response: httpx2.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def peer_error(
    status: int, body: Mapping[str, Any] | None, reason: str = "", *, peer: str = "OMS"
) -> PeerError:
    """A peer's error as the peer said it: status, first error's code and field, message and
    data."""
    body = body or {}
    errors = body.get("errors")
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    code = first.get("code") or CODE_BY_STATUS.get(status, "peer_error")
    message = body.get("message") or first.get("message") or f"{peer} answered {status} {reason}"
    field_name = first.get("field")
    data = body.get("data")
    items = [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []
    return PeerError(
        status,
        str(code),
        str(message),
        field=str(field_name) if field_name is not None else None,
        data=data if isinstance(data, dict) else None,
        errors=items or None,
    )
