"""Spice Harvester: an event-sourced ontology and knowledge-graph platform."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("spice-harvester")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
