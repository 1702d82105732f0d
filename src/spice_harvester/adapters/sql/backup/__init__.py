"""Backups of a whole installation, restorable into either engine (`spice backup ...`).

A backup is a folder:

    metadata.json                 versions, engine, counts, branch heads and state hashes,
                                  and every file below with its size and SHA-256
    databases/<name>.jsonl.gz     each database's whole history in the engine-neutral
                                  spice-history format (docs/history-format.md)
    system/<table>.jsonl.gz       api_keys, audit_log, pull_requests, spice_meta
    config.tar.gz                 .env and the config folder (with --with-config)

What is backed up, table by table (adapters/sql/tables.py and projections/tables.py):

- spice_databases, timelines, commits, commit_parents, branches, doc_versions and the
  document events: the histories. Commit ids, parents, state hashes and branch heads come
  back identical; timelines are renumbered; the lifecycle events (created, branch moves)
  are not carried: an import announces the database and each branch afresh.
- api_keys, audit_log, pull_requests, spice_meta: user state that nothing can rebuild.
  Keys are kept as the SHA-256s the table holds; audit entries keep ids and hashes, so the
  chain verifies after a restore (system_state.py says how a restore merges them).
- Not backed up, because they are rebuilt or are transient:
  search_docs, class_counts, doc_lineage and the projection bookkeeping
  (projection_versions, projection_checkpoints, projection_state, processed_events,
  aggregate_versions): read models and where they stand, rebuilt from the restored
  histories (read_models.py);
  projection_jobs, projection_workers, dead_letters: recompute jobs, worker heartbeats and
  parked units of the old installation's log, whose positions mean nothing after a restore;
  commands: the status of requests in flight, which their clients poll for a while; a
  finished command's outcome is its commit, which carries its command id and request hash,
  so a retried command is still answered from the restored history;
  maintenance_mode: an operational switch, set by the operator of the restored system.

Consistency: everything is read in one read transaction (create.py); a restore writes in one
write transaction (restore.py). `spice verify` (integrity.py) checks a database by replaying
its log.
"""

from spice_harvester.adapters.sql.backup.create import BackupRequest, create_backup, new_folder
from spice_harvester.adapters.sql.backup.layout import Metadata, check_files, read_metadata
from spice_harvester.adapters.sql.backup.restore import (
    RestoreRequest,
    RestoreResult,
    check_backup,
    restore_backup,
)
from spice_harvester.adapters.sql.backup.retention import BackupFolder, list_backups, prune

__all__ = [
    "BackupFolder",
    "BackupRequest",
    "Metadata",
    "RestoreRequest",
    "RestoreResult",
    "check_backup",
    "check_files",
    "create_backup",
    "list_backups",
    "new_folder",
    "prune",
    "read_metadata",
    "restore_backup",
]
