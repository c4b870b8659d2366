"""Shared fixtures: real target servers on free loopback ports, started by the harness's own runtime."""

from __future__ import annotations

import os
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


# BENCH_REQUIRE_ALL=1 (.ci/run sets it): a skip is a failure. Whatever a test skips for (root, a device,
# a tool, an engine, a free CPU) the CI machine provides, so a skip there means a broken setup, and it
# must not pass unseen. This covers every skip: pytest.skip and importorskip in a test, a fixture or a
# module, and skipif marks; a combination that does not apply is not generated instead (tests/test_no_skips.py).
REQUIRE_ALL = "BENCH_REQUIRE_ALL"


def _no_skip(report: pytest.TestReport | pytest.CollectReport) -> None:
    if os.environ.get(REQUIRE_ALL) != "1" or not report.skipped or hasattr(report, "wasxfail"):
        return
    where, reason = "", str(report.longrepr)
    if isinstance(report.longrepr, tuple):  # (path, line, "Skipped: reason")
        where, reason = f" ({report.longrepr[0]}:{report.longrepr[1]})", report.longrepr[2]
    report.outcome = "failed"
    report.longrepr = f"{REQUIRE_ALL}=1 (set by .ci/run), so no test may skip; this one did{where}: " + \
        reason.removeprefix("Skipped: ")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    report = yield
    _no_skip(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[pytest.CollectReport]:
    report = yield
    _no_skip(report)
    return report


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

    Placed by harness.database.place (build/pg, or a temporary folder when the clone is private), not in
    pytest's tmp_path: when root, PostgreSQL runs as `nobody`, who cannot enter pytest's 0700 folders."""
    with running_database(DatabaseOptions(log_path=ROOT / "build" / "pg" / "tests.log")) as database:
        yield database
