"""No silent skip in CI (issue 32, item 10): `.ci/run` sets BENCH_REQUIRE_ALL=1, and then tests/conftest.py
turns every skip (pytest.skip, skipif, importorskip, in a test, a fixture or a module) into a failure that
gives the skip's reason; a combination that does not apply (a FastAPI-only test on Express) is not
generated at all, so nothing needs skipping there."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

KINDS = '''
import pytest


@pytest.fixture
def needs_a_device():
    pytest.skip("no such device here")


def test_skips_in_its_body():
    pytest.skip("needs root")


@pytest.mark.skipif(True, reason="not on this machine")
def test_skipif():
    pass


def test_skips_in_a_fixture(needs_a_device):
    pass


def test_importorskip():
    pytest.importorskip("no_module_of_this_name")


def test_runs():
    pass
'''

MODULE_LEVEL = '''
import pytest

pytest.importorskip("no_module_of_this_name")


def test_never_collected():
    pass
'''


def _pytest(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BENCH_REQUIRE_")} | env
    return subprocess.run([sys.executable, "-m", "pytest", *args, "-p", "no:cacheprovider", "-q", "-rA"],
                          cwd=cwd, env=environment, capture_output=True, text=True, timeout=600, check=False)


def _with_the_suites_conftest(tmp_path: Path, name: str, source: str) -> list[str]:
    """A test file in tmp_path beside a copy of tests/conftest.py, run with the project's pytest settings."""
    shutil.copy(ROOT / "tests" / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / name).write_text(textwrap.dedent(source))
    return [str(tmp_path / name), "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path)]


def test_without_bench_require_all_a_skip_stays_a_skip(tmp_path: Path) -> None:
    result = _pytest(_with_the_suites_conftest(tmp_path, "test_kinds.py", KINDS), tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "1 passed, 4 skipped" in result.stdout


def test_under_bench_require_all_every_kind_of_skip_fails_with_its_reason(tmp_path: Path) -> None:
    result = _pytest(_with_the_suites_conftest(tmp_path, "test_kinds.py", KINDS), tmp_path, BENCH_REQUIRE_ALL="1")
    assert result.returncode == 1, result.stdout[-3000:]
    # a skip in setup (a skipif mark, a fixture) fails the setup: an error, as any failing fixture is
    assert "2 failed, 1 passed, 2 errors" in result.stdout and "skipped" not in result.stdout.splitlines()[-1]
    for reason in ("needs root", "not on this machine", "no such device here", "no_module_of_this_name"):
        assert re.search(rf"BENCH_REQUIRE_ALL=1.*{reason}", result.stdout), (reason, result.stdout[-3000:])


def test_under_bench_require_all_a_module_skipped_at_collection_fails(tmp_path: Path) -> None:
    args = _with_the_suites_conftest(tmp_path, "test_module_level.py", MODULE_LEVEL)
    assert "1 skipped" in _pytest(args, tmp_path).stdout
    result = _pytest(args, tmp_path, BENCH_REQUIRE_ALL="1")
    assert result.returncode != 0 and "skipped" not in result.stdout.splitlines()[-1], result.stdout[-3000:]
    assert re.search(r"BENCH_REQUIRE_ALL=1.*no_module_of_this_name", result.stdout), result.stdout[-3000:]


def test_ci_run_requires_every_test_to_run() -> None:
    exports = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line.startswith("export ")]
    assert any("BENCH_REQUIRE_ALL=1" in line.split() for line in exports), exports


def test_the_fastapi_only_contract_tests_are_not_generated_for_express() -> None:
    result = _pytest(["tests/test_contract.py", "--collect-only"], ROOT)
    assert result.returncode == 0, result.stdout[-3000:]
    only = [line for line in result.stdout.splitlines() if "test_fastapi_only" in line]
    assert only and not [line for line in only if "express" in line], only
    assert {re.search(r"\[(.*)\]", line).group(1) for line in only} == {"fastapi-memory", "fastapi-postgres"}


def test_the_docker_limit_check_runs_when_no_docker_test_is_collected() -> None:
    result = _pytest(["tests/test_suite_limits.py::test_every_test_has_a_time_limit"], ROOT)
    assert "1 passed" in result.stdout, result.stdout[-3000:]


def test_ab_e2e_on_docker_fails_without_an_engine_under_bench_require_docker(tmp_path: Path) -> None:
    """As tests/test_docker.py's tests do: BENCH_REQUIRE_DOCKER=1 (set by .ci/run) makes a missing engine a failure."""
    result = _pytest(["tests/test_ab_e2e.py::test_on_docker_each_side_is_its_own_image_and_the_slowed_head_exits_1"],
                     ROOT, BENCH_REQUIRE_DOCKER="1", DOCKER_HOST=f"unix://{tmp_path}/no-engine.sock")
    assert result.returncode == 1 and "1 failed" in result.stdout, result.stdout[-3000:]
    assert "BENCH_REQUIRE_DOCKER=1 but no Docker engine answers" in result.stdout
