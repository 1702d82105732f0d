"""A registry client in its own process, for the multi-process registry tests.

    python -m tests.integration.registry_worker URL ACTION HANDLER EVENT OWNER LEASE [options]

Prints "ready" once connected; with --go it then waits for that file to exist, so that the
test can release several processes at once after their start-up. Then it prints one JSON
line: the claim's outcome and attempts, and whether it marked the event done.

Actions: `claim` only claims; `finish` claims and, if it got the event, marks it done
(recording --aggregate/--seq); `hang` claims and then sleeps until it is killed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.registry import SqlRegistry
from spice_harvester.ports.registry import ClaimOutcome
from spice_harvester.settings.model import DatabasePoolSettings

POOL = DatabasePoolSettings(pool_size=1, max_overflow=0, pool_timeout=30)


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    db = SqlDatabase(args.url, POOL)
    try:
        db.ping()  # connect before "ready", so the race starts after the slow part
        print("ready", flush=True)
        if args.go is not None:
            while not args.go.exists():
                time.sleep(0.001)
        registry = SqlRegistry(db)
        claim = registry.claim(args.handler, args.event, args.owner, args.lease)
        claimed = claim.outcome is ClaimOutcome.CLAIMED
        done = False
        if claimed and args.action == "finish":
            registry.mark_done(
                args.handler, args.event, args.owner, aggregate_key=args.aggregate, seq=args.seq
            )
            done = True
        result = {"outcome": claim.outcome.value, "attempts": claim.attempts, "done": done}
        print(json.dumps(result), flush=True)
        if claimed and args.action == "hang":
            time.sleep(600)  # holding the lease, as a worker stuck mid-event would
    finally:
        db.close()
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="registry_worker")
    parser.add_argument("url")
    parser.add_argument("action", choices=["claim", "finish", "hang"])
    parser.add_argument("handler")
    parser.add_argument("event")
    parser.add_argument("owner")
    parser.add_argument("lease", type=float)
    parser.add_argument("--go", type=Path, default=None)
    parser.add_argument("--aggregate", default=None)
    parser.add_argument("--seq", type=int, default=None)
    return parser


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
