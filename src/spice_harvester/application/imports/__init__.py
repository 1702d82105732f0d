"""Importing tables into a class: columns mapped to fields, rows built and checked, then
written in chunks as one command (docs/design/0006-import.md)."""
