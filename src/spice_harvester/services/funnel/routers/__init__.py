"""Funnel's routes, one module per kind of input."""
