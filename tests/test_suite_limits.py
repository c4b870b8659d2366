"""The suite cannot hang: every test has a time limit (pytest-timeout), and a test over it fails alone."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

HANGING = '''
import time
from pathlib import Path

import pytest


@pytest.fixture
def server(tmp_path_factory):
    yield
    (Path({marker!r})).write_text("stopped")  # as a server fixture stops its server


def test_hangs(server):
    time.sleep(60)


def test_after_it():
    pass
'''


def test_a_hanging_test_fails_on_its_time_limit_and_the_suite_goes_on(tmp_path):
    marker = tmp_path / "teardown-ran"
    test_file = tmp_path / "test_hanging.py"
    test_file.write_text(textwrap.dedent(HANGING.format(marker=str(marker))))
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(test_file), "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path),
         "-p", "no:cacheprovider", "-o", "timeout=2", "-q"],
        cwd=tmp_path, capture_output=True, text=True, timeout=50, check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout[-2000:]
    assert "Timeout (>2.0s) from pytest-timeout" in result.stdout
    assert "1 failed, 1 passed" in result.stdout  # the next test still ran
    assert marker.read_text() == "stopped"  # the hung test's fixtures were torn down
    assert time.monotonic() - started < 40


LIMITS = """
def pytest_collection_finish(session):
    for item in session.items:
        if item.get_closest_marker("docker"):
            print("LIMIT", item.nodeid, item.get_closest_marker("timeout").args[0])
"""


def test_every_test_has_a_time_limit(request, tmp_path):
    """The default limit is set; the Docker tests' is longer (their first test may build the images):
    checked on the Docker tests as collected apart, whatever this session collected."""
    assert request.config.pluginmanager.hasplugin("timeout")
    assert float(request.config.getini("timeout")) == 300
    assert request.config.getini("timeout_method") == "signal"
    (tmp_path / "docker_limits.py").write_text(LIMITS)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "docker_limits", "-p", "no:cacheprovider",
         str(ROOT / "tests" / "test_docker.py"), str(ROOT / "tests" / "test_ab_e2e.py")],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(tmp_path)}, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    limits = [line.split() for line in result.stdout.splitlines() if line.startswith("LIMIT ")]
    assert len(limits) >= 10, result.stdout[-2000:]  # tests/test_docker.py's and test_ab_e2e.py's Docker test
    for _, nodeid, limit in limits:
        assert float(limit) >= 1800, nodeid
