"""Batch sizes of export and import; modules read them at call time so tests can shrink them."""

# Commits read per round trip on export: each batch costs one query for events, and holds
# at most this many commits' events in memory.
EXPORT_BATCH = 200
# Rows an import buffers before writing them in one statement per table. It writes early
# when a commit reads a document whose newest row waits on another timeline, or a parent
# it no longer remembers.
FLUSH_ROWS = 2000
# Commits whose placement the importer keeps in memory; older parents are read back from
# the commits table, so a long history does not have to fit in memory.
PLACED_LIMIT = 50_000
# Timelines inserted per statement, and ids per IN list when the import looks rows up.
CHUNK = 500
