"""Funnel: stateless type inference and schema suggestion."""
