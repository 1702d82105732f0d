"""The three services' display names and descriptions (light: the CLI imports it at start)."""

from __future__ import annotations

from spice_harvester.settings.model import ServiceName

TITLES: dict[ServiceName, tuple[str, str]] = {
    "oms": ("OMS", "Ontology Management Service: the id-based API over the versioned store"),
    "bff": ("BFF", "Backend for Frontend: the public, label-based API"),
    "funnel": ("Funnel", "Type inference, structure analysis and schema suggestion"),
}


def title(service: ServiceName) -> str:
    return TITLES[service][0]
