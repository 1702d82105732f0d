"""Pure domain: errors, and later the ontology model, commands and events."""
