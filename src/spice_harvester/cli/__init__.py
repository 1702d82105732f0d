"""The `spice` operator command."""
