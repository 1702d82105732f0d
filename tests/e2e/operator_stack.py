"""One running installation for the operator tests (maintenance mode, `spice health`): OMS,
BFF, Funnel and a projection worker on a fresh PostgreSQL database, started once per session
because starting four services is most of what those tests would otherwise cost.

Tests that use it leave it as they found it: maintenance off, every process running.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.e2e.conftest import Stack, stack_in, wait_for
from tests.postgres import SKIP_POSTGRES, fresh_postgres_database

ADMIN_TOKEN = "operator-admin-token-0123456789abcdef"
SERVICES = ("oms", "bff", "funnel")


@dataclass
class OperatorStack:
    stack: Stack

    def url(self, service: str) -> str:
        return self.stack.url(service)


@pytest.fixture(scope="session")
def operator_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorStack]:
    if SKIP_POSTGRES:
        pytest.skip("SPICE_TEST_SKIP_POSTGRES=1")
    root = tmp_path_factory.mktemp("operator")
    with fresh_postgres_database() as url, stack_in(root) as stack:
        stack.env.update({"DATABASE_URL": url, "BFF_ADMIN_TOKEN": ADMIN_TOKEN})
        # Development start-up migrates; OMS and BFF take turns on PostgreSQL's lock.
        processes = [stack.spice("serve", name) for name in SERVICES]
        processes.append(stack.spice("serve", "worker", WORKER__HEARTBEAT_SECONDS="1"))
        try:
            for name in SERVICES:
                wait_for(f"{stack.url(name)}/health", timeout=60)
            yield OperatorStack(stack)
        finally:
            for process in processes:
                stack.stop(process)
