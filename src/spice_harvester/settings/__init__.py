"""Settings: one typed object read once from environment, .env, YAML files and defaults."""

from spice_harvester.settings.loader import load_settings
from spice_harvester.settings.model import SERVICES, ServiceName, Settings

__all__ = ["SERVICES", "ServiceName", "Settings", "load_settings"]
