"""Queries over instances: filters and their typed comparison, text matching, traversal plans."""
