"""Ontology Management Service: the internal, id-based API."""
