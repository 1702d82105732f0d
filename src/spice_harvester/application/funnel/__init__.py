"""The Funnel's use cases: profiling tables and suggesting classes, keys and relationships."""
