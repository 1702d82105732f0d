"""Git semantics over documents: the pure parts (documents, changes, hashing, merge, refs)."""
