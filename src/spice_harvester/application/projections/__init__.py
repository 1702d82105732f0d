"""Projections: read models kept from the log (docs/design/0005); the pure part lives here."""

from __future__ import annotations

# The projections this release ships, in the order a worker runs them.
PROJECTIONS: tuple[str, ...] = ("search", "counts", "lineage")
