"""The suite cannot hang: every test has a time limit (pytest-timeout), and a test over it fails alone."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

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


def test_every_test_has_a_time_limit(request):
    """The default limit is set; the Docker tests' is longer (their first test may build the images)."""
    assert request.config.pluginmanager.hasplugin("timeout")
    assert float(request.config.getini("timeout")) == 300
    assert request.config.getini("timeout_method") == "signal"
    docker_items = [item for item in request.session.items if item.get_closest_marker("docker")]
    for item in docker_items:
        assert item.get_closest_marker("timeout").args[0] >= 1800, item.nodeid
    if not docker_items:
        pytest.skip("no Docker test collected in this session, so their limit is not checked")
