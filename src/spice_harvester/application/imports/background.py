"""Long commands running on threads of this process, at most one per command id.

A second request for a command already running here joins it (its future and its start)
instead of running it twice. A process that dies takes its threads with it; the command's
status then stays PROCESSING until the same request is made again, which resumes it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

from spice_harvester.domain.errors import SpiceError
from spice_harvester.ports.commands import CommandRecord

log = logging.getLogger(__name__)
Work = Callable[[threading.Event], CommandRecord]
"""Runs the command; sets the event once its status says PROCESSING."""


@dataclass
class BackgroundJob:
    future: Future[CommandRecord] = field(default_factory=Future)
    started: threading.Event = field(default_factory=threading.Event)


class BackgroundJobs:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, BackgroundJob] = {}

    def start(self, command_id: str, work: Work) -> tuple[BackgroundJob, bool]:
        """The job running `command_id`, and whether this call started it."""
        with self._lock:
            running = self._jobs.get(command_id)
            if running is not None:
                return running, False
            job = BackgroundJob()
            self._jobs[command_id] = job
        thread = threading.Thread(
            target=self._run, args=(command_id, job, work), name=f"command {command_id}"
        )
        thread.daemon = True
        thread.start()
        return job, True

    def running(self, command_id: str) -> bool:
        with self._lock:
            return command_id in self._jobs

    def _run(self, command_id: str, job: BackgroundJob, work: Work) -> None:
        try:
            job.future.set_result(work(job.started))
        except SpiceError as exc:
            job.future.set_exception(exc)
        except BaseException as exc:
            log.error("command %s failed", command_id, exc_info=exc)
            job.future.set_exception(exc)
        finally:
            job.started.set()
            with self._lock:
                self._jobs.pop(command_id, None)
