"""`bench ab` end to end: a repository whose working tree slows Express down, gated against its HEAD.

Real revisions (git archive of HEAD, a copy of the working tree), a real cached install (npm ci, shared
with build/ab/cache), real servers in one interleaved run of the `test` profile's throughput step, five
rounds. The slowdown is large (1000 µs of busy-wait on a ~100 µs request, the apps' SLOWDOWN_US knob,
as scripts/inject-slowdown.py writes it), so every round shows it whatever the machine's neighbours do:
the test is of the plumbing and the exit code, not of the gate's power (docs/regression-tracking.md).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.commands.main import main

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]
ROOT = Path(__file__).resolve().parent.parent


def _docker_unavailable(reason: str) -> None:
    """A skip without an engine, a failure under BENCH_REQUIRE_DOCKER=1 (.ci/run), as in tests/test_docker.py."""
    if os.environ.get("BENCH_REQUIRE_DOCKER") == "1":
        pytest.fail(f"BENCH_REQUIRE_DOCKER=1 but {reason}")
    pytest.skip(reason)


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """Express and the contract, committed; then the working tree slowed by the injection script."""
    root = tmp_path / "repo"
    ignore = shutil.ignore_patterns("node_modules", ".install-stamp")
    shutil.copytree(ROOT / "targets" / "express_app", root / "targets" / "express_app", ignore=ignore)
    shutil.copytree(ROOT / "contract", root / "contract")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "base")
    subprocess.run([sys.executable, str(ROOT / "scripts" / "inject-slowdown.py"), str(root / "targets" / "express_app"),
                    "10", "--cpu-us-per-req", "100"], check=True, capture_output=True)
    return root


def test_a_slowed_working_tree_exits_1_and_leaves_only_the_cache(repo: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    build = ROOT / "build" / "ab"  # the cache of the real installs is shared with other runs
    monkeypatch.chdir(repo)
    code = main(["ab", "HEAD", "WORKTREE", "--target", "express", "--scenario", "throughput", "--profile", "test",
                 "--rounds", "5", "--slice-pairs", "0", "--scenarios-dir", str(ROOT / "scenarios"),
                 "--build-dir", str(build),
                 "--results-dir", str(tmp_path / "results"), "--name", "ab", "--out", str(tmp_path / "out")])
    assert code == 1
    data = json.loads((tmp_path / "out" / "ab.json").read_text())
    cpu = next(c for c in data["changes"] if c["metric"] == "server_cpu_us_per_req")
    assert cpu["verdict"] == "regression" and cpu["rounds"] == 5 and cpu["ratio"] > 3 and cpu["counted"] == "round"
    results = json.loads((tmp_path / "results" / "ab" / "results.json").read_text())
    assert [t["target"] for t in results["trials"]][:4] == ["express-base", "express-head", "express-head",
                                                           "express-base"]  # B H, H B
    assert results["config"]["ab"]["head"]["label"] == "worktree"
    assert not (build / "worktree").exists() and not (build / results["config"]["ab"]["base"]["label"]).exists()


def test_in_paired_slices_base_and_head_share_one_trial_and_the_slowed_head_exits_1(repo: Path, tmp_path: Path,
                                                                                   monkeypatch: pytest.MonkeyPatch
                                                                                   ) -> None:
    """The default gate of a closed-model step: both sides' servers at once, each pair of 1-s slices a round."""
    monkeypatch.chdir(repo)
    code = main(["ab", "HEAD", "WORKTREE", "--target", "express", "--scenario", "throughput", "--profile", "test",
                 "--slice-pairs", "6", "--scenarios-dir", str(ROOT / "scenarios"), "--build-dir",
                 str(ROOT / "build" / "ab"), "--results-dir", str(tmp_path / "results"), "--name", "ab",
                 "--out", str(tmp_path / "out")])
    assert code == 1
    data = json.loads((tmp_path / "out" / "ab.json").read_text())
    cpu = next(c for c in data["changes"] if c["metric"] == "server_cpu_us_per_req")
    assert cpu["verdict"] == "regression" and cpu["rounds"] == 6 and cpu["ratio"] > 3 and cpu["counted"] == "pair"
    assert "over 6 pairs" in (tmp_path / "out" / "ab.md").read_text()
    results = json.loads((tmp_path / "results" / "ab" / "results.json").read_text())
    assert {(t["target"], t["pairing"]["trial"]) for t in results["trials"]} == {("express-base", 1),
                                                                                ("express-head", 1)}
    assert sorted(t["trial"] for t in results["trials"]) == sorted([*range(1, 7)] * 2)


@pytest.mark.docker
@pytest.mark.timeout(2400)  # tests/conftest.py's DOCKER_TIMEOUT_S: a first run may build the images
def test_on_docker_each_side_is_its_own_image_and_the_slowed_head_exits_1(repo: Path, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The Docker runtime: two images, tagged by a hash of each side's build context (the head's manifest
    differs), built on the stand-in base image of tests/test_docker.py's fixture script when present."""
    from harness.runtime.docker_engine import Engine

    if not Engine().answers():
        _docker_unavailable("no Docker engine answers")
    base = "bench-standin-node:24-bookworm"
    if subprocess.run(["docker", "image", "inspect", base], capture_output=True, check=False).returncode != 0:
        _docker_unavailable(f"no {base} image (scripts/docker-standins.sh builds it)")
    monkeypatch.chdir(repo)
    code = main(["ab", "HEAD", "WORKTREE", "--runtime", "docker", "--base-image", f"express={base}",
                 "--target", "express", "--scenario", "throughput", "--profile", "test", "--rounds", "5",
                 "--slice-pairs", "0", "--scenarios-dir", str(ROOT / "scenarios"),
                 "--build-dir", str(tmp_path / "build"),
                 "--results-dir", str(tmp_path / "results"), "--name", "ab", "--out", str(tmp_path / "out")])
    assert code == 1
    results = json.loads((tmp_path / "results" / "ab" / "results.json").read_text())
    images = {t["target"]: t["server"]["image"] for t in results["trials"]}
    assert set(images) == {"express-base", "express-head"}
    assert images["express-base"].split(":")[1] != images["express-head"].split(":")[1]
