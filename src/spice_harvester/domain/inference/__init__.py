"""Column type inference: recognising values, choosing a type per column, keys and links."""
