"""Another OMS server as a remote: its branch heads, packs of commits, and its history."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import httpx

from spice_harvester.domain.errors import DependencyUnavailable, MalformedInput, PeerError
from spice_harvester.domain.versioning.model import Pack


class RemoteOms:
    """A synchronous client for the remote endpoints of another OMS (`remote_url`)."""

    def __init__(self, base_url: str, timeout: float, actor: str = "system") -> None:
        if not base_url.startswith(("http://", "https://")):
            raise MalformedInput(
                f"remote url {base_url!r} must start with http:// or https://", field="remote_url"
            )
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(
            base_url=self.base_url, timeout=timeout, headers={"X-Actor": actor}
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> RemoteOms:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def heads(self, db: str) -> list[str]:
        """The head commit of every branch of `db` there."""
        data = self._json("GET", f"/api/v1/branch/{_part(db)}/list")
        return [branch["head"] for branch in data["branches"]]

    def pack(self, db: str, ref: str, haves: Sequence[str]) -> Pack:
        data = self._json(
            "POST", f"/api/v1/version/{_part(db)}/pack", json={"ref": ref, "haves": list(haves)}
        )
        return Pack(data["head"], tuple(data["commits"]))

    def receive(self, db: str, branch: str, pack: Pack) -> dict[str, Any]:
        body = {"branch": branch, "head": pack.head, "commits": list(pack.commits)}
        result: dict[str, Any] = self._json(
            "POST", f"/api/v1/version/{_part(db)}/receive", json=body
        )
        return result

    @contextmanager
    def history(self, db: str) -> Iterator[Iterator[dict[str, Any]]]:
        """The records of `db`'s history export, read as they arrive."""
        try:
            with self._client.stream("GET", f"/api/v1/database/{_part(db)}/history") as response:
                if response.status_code >= 400:
                    response.read()
                    raise _peer_error(response)
                yield (json.loads(line) for line in response.iter_lines() if line.strip())
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from exc

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from exc
        if response.status_code >= 400:
            raise _peer_error(response)
        return response.json()["data"]

    def _unreachable(self, exc: httpx.HTTPError) -> DependencyUnavailable:
        return DependencyUnavailable(f"remote {self.base_url}", type(exc).__name__)


def _part(text: str) -> str:
    return quote(text, safe="")


def _peer_error(response: httpx.Response) -> PeerError:
    """The remote's own error, named as the remote's."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    errors = body.get("errors") if isinstance(body, dict) else None
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    message = body.get("message") if isinstance(body, dict) else None
    data = body.get("data") if isinstance(body, dict) else None
    return PeerError(
        response.status_code,
        str(first.get("code", "remote_error")),
        f"remote {response.request.url.host}: {message or response.reason_phrase}",
        field=first.get("field"),
        data=data if isinstance(data, dict) else None,
    )
