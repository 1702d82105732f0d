"""BFF's client for Funnel: pooled connections, and Funnel's own errors passed on unchanged."""

from __future__ import annotations

from typing import Any

import httpx2

from spice_harvester.adapters.oms_client import Forwarded, peer_error
from spice_harvester.domain.errors import DependencyUnavailable, PeerError

SUGGEST_SCHEMA = "/api/v1/funnel/suggest-schema"


class FunnelClient:
    """Funnel is stateless and every call is a pure computation, so nothing is retried: a
    request that timed out once would most likely time out again. An error answer becomes a
    `PeerError` with Funnel's status, code, message and field; an unreachable Funnel is 503."""

    def __init__(self, http: httpx2.AsyncClient) -> None:
        self.http = http

    @property
    def base_url(self) -> str:
        return str(self.http.base_url).rstrip("/")

    async def suggest_schema(
        self,
        columns: list[str],
        data: list[list[Any]],
        class_name: str | None,
        forwarded: Forwarded,
    ) -> dict[str, Any]:
        """Funnel's suggested class for raw rows: `{class, key, mapping}`."""
        params = {"class_name": class_name} if class_name else None
        body = {"columns": columns, "data": data}
        answer = await self.post(SUGGEST_SCHEMA, forwarded, json=body, params=params)
        if not isinstance(answer, dict) or not isinstance(answer.get("class"), dict):
            raise PeerError(502, "dependency_unavailable", "Funnel answered without a class")
        return answer

    async def post(self, path: str, forwarded: Forwarded, *, json: Any, params: Any = None) -> Any:
        """The `data` of Funnel's answer, or its error raised as `PeerError`."""
        try:
            response = await self.http.post(
                path, json=json, params=params, headers=forwarded.as_headers()
            )
        except httpx2.TimeoutException as exc:
            timeout = self.http.timeout.read
            raise DependencyUnavailable("funnel", f"no answer within {timeout} s") from exc
        except httpx2.HTTPError as exc:
            raise DependencyUnavailable(
                "funnel", f"unreachable at {self.base_url} ({exc!r})"
            ) from exc
        body = _envelope(response)
        if response.status_code >= 400:
            raise peer_error(response.status_code, body, response.reason_phrase, peer="Funnel")
        if body is None:
            raise PeerError(
                502, "dependency_unavailable", "Funnel answered with something other than JSON"
            )
        return body.get("data")

    async def aclose(self) -> None:
        await self.http.aclose()


def _envelope(response: httpx2.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
