"""Use cases that sit between the HTTP services and the ports."""
