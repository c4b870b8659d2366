"""Shared fixtures: real target servers on free loopback ports, started by the harness's own runtime."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.database import Database, DatabaseOptions, running_database
from harness.runtime.native import start_native
from harness.runtime.server import Server, free_port
from harness.targets import Target, discover_targets

ROOT = Path(__file__).resolve().parent.parent
# The first Docker test builds what is missing: the stand-in base images (the fixture allows that
# script 1800 s) and the two target images, so these tests get more than pyproject's 300 s.
DOCKER_TIMEOUT_S = 2400
TARGETS_DIR = ROOT / "targets"
TARGET_NAMES = ["fastapi", "express"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("docker") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(DOCKER_TIMEOUT_S))


@pytest.fixture(scope="session")
def targets() -> dict[str, Target]:
    return discover_targets(TARGETS_DIR)


@pytest.fixture(scope="module", params=TARGET_NAMES)
def server(request: pytest.FixtureRequest, targets: dict[str, Target], tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Server]:
    """One real server per target, shared by a test module, stopped afterwards."""
    log_dir = tmp_path_factory.mktemp(f"logs-{request.param}")
    with start_native(targets[request.param], port=free_port(), log_dir=log_dir) as running_server:
        yield running_server


@pytest.fixture(scope="session")
def postgres() -> Iterator[Database]:
    """One real PostgreSQL for the session (harness.database, embedded binaries); users reset it.

    Placed by harness.database_place (build/pg, or a temporary folder when the clone is private), not in
    pytest's tmp_path: when root, PostgreSQL runs as `nobody`, who cannot enter pytest's 0700 folders."""
    with running_database(DatabaseOptions(log_path=ROOT / "build" / "pg" / "tests.log")) as database:
        yield database
