"""Protocols the application needs from storage and infrastructure."""
