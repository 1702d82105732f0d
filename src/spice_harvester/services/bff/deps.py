"""What BFF routes take from a request: the caller, OMS, the labels of a database and the
client's languages, bundled as `Bff` (`Reader` for viewer routes, `Writer` for editor ones)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import JSONResponse

from spice_harvester.adapters.oms_client import Forwarded, OmsAnswer, OmsClient
from spice_harvester.application.labels import LabelIndex, preferred_languages
from spice_harvester.bootstrap import Resources
from spice_harvester.domain.errors import NotFound
from spice_harvester.services.bff.access import Caller, requires
from spice_harvester.services.bff.labels import LabelCache, load_index
from spice_harvester.settings import Settings

Params = list[tuple[str, str]]


def part(text: str) -> str:
    """One path segment of an OMS URL: ids and names may hold any character."""
    return quote(text, safe="")


@dataclass
class Bff:
    """One request's view of OMS: calls forward the caller's actor and headers, and labels
    come from the per-process cache."""

    request: Request
    caller: Caller
    oms: OmsClient
    cache: LabelCache
    forwarded: Forwarded
    languages: tuple[str, ...]

    async def call(
        self, method: str, path: str, *, params: Any = None, json: Any = None
    ) -> OmsAnswer:
        return await self.oms.call(method, path, self.forwarded, params=params, json=json)

    def query(self, *, drop: tuple[str, ...] = (), **overrides: str | None) -> Params:
        """The client's query parameters for OMS, as sent, with some replaced or dropped."""
        gone = set(drop) | set(overrides)
        kept = [(k, v) for k, v in self.request.query_params.multi_items() if k not in gone]
        return kept + [(k, v) for k, v in overrides.items() if v is not None]

    async def index(
        self, db: str, branch: str = "main", at: str | None = None, *, since: float | None = None
    ) -> LabelIndex:
        async def load() -> LabelIndex:
            return await load_index(self.oms, self.forwarded, db, branch, at)

        return await self.cache.get((db, branch, at), load, loaded_since=since)

    async def class_of(
        self, db: str, text: str, branch: str = "main", at: str | None = None
    ) -> tuple[LabelIndex, str]:
        """The class a label (or id) names, with the index it was found in. A label the cached
        index does not know is looked for once more in a fresh one (another process may have
        just added the class)."""
        asked = self.cache.clock()
        index = await self.index(db, branch, at)
        try:
            return index, index.class_id(text)
        except NotFound:
            # Loaded by this call already (or since): no second load.
            index = await self.index(db, branch, at, since=asked)
            return index, index.class_id(text)

    def schema_changed(self, db: str) -> None:
        self.cache.invalidate(db)


def relay(answer: OmsAnswer, data: Any = ..., *, message: str | None = None) -> JSONResponse:
    """OMS's answer as BFF's, with the same status; `data` replaced when given."""
    body = {
        "status": answer.body.get("status", "success"),
        "message": message if message is not None else answer.message,
        "data": answer.data if data is ... else data,
        "errors": answer.body.get("errors"),
    }
    return JSONResponse(body, status_code=answer.status)


def _resources(request: Request) -> Resources:
    found: Resources = request.app.state.resources
    return found


def _cache(request: Request) -> LabelCache:
    # Made on first use rather than in the app factory: nothing here does I/O.
    state = request.app.state
    cache: LabelCache | None = getattr(state, "label_cache", None)
    if cache is None:
        settings: Settings = state.settings
        cache = LabelCache(settings.bff.labels_ttl_seconds)
        state.label_cache = cache
    return cache


def _bff(request: Request, caller: Caller) -> Bff:
    oms = _resources(request).oms
    assert oms is not None, "BFF wires its OMS client at start-up"
    return Bff(
        request,
        caller,
        oms,
        _cache(request),
        Forwarded.of(caller.actor, request.headers),
        preferred_languages(request.headers.get("Accept-Language")),
    )


async def reader(request: Request, caller: Annotated[Caller, requires("viewer")]) -> Bff:
    return _bff(request, caller)


async def writer(request: Request, caller: Annotated[Caller, requires("editor")]) -> Bff:
    return _bff(request, caller)


Reader = Annotated[Bff, Depends(reader)]
Writer = Annotated[Bff, Depends(writer)]
