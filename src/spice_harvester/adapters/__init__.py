"""Implementations of the ports: SQL engines, Redis, HTTP clients."""
