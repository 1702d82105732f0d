"""The ontology model: classes, properties, their value types and how values are normalised."""
