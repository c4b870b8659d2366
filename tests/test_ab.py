"""`bench ab` without servers: revisions' folders and their clean-up, cached installs, the gate on a
constructed run, the exit codes, and each CI format against its schema or the tool's own reader."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.ab import install, revisions
from harness.ab import run as ab_run
from harness.commands.main import main
from harness.compare.ab import AbResult, paired_changes
from harness.errors import BenchError
from harness.exporters import AB_EXPORTERS, EXPORTERS, write_reports
from harness.exporters import ci as export_ci
from harness.exporters.gated import from_ab
from harness.report import claims_junit
from harness.results import Metric, RunResults
from harness.targets import load_target

MANIFEST = """name = "demo"
display_name = "Demo"
language = "python"
[native]
install = [["{python}", "-c", "import os; os.makedirs('deps'); open('deps/made', 'w').write(open('lock.txt').read())"]]
install_inputs = ["lock.txt"]
command = ["true"]
env = {{ HOST = "{{host}}" }}
"""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with one target and a contract, committed; then the working tree changed."""
    root = tmp_path / "repo"
    (root / "targets" / "demo").mkdir(parents=True)
    (root / "contract").mkdir()
    (root / "targets" / "demo" / "target.toml").write_text(MANIFEST.format(python=sys.executable))
    (root / "targets" / "demo" / "lock.txt").write_text("v1\n")
    (root / "contract" / "openapi.json").write_text("{}\n")
    (root / ".gitignore").write_text("node_modules/\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "base")
    (root / "targets" / "demo" / "lock.txt").write_text("v2\n")  # uncommitted
    (root / "targets" / "demo" / "new.txt").write_text("untracked\n")
    (root / "targets" / "demo" / "node_modules").mkdir()  # ignored: never copied
    (root / "targets" / "demo" / "node_modules" / "big").write_text("x")
    return root


def test_a_commit_is_exported_without_the_working_trees_changes(repo: Path, tmp_path: Path) -> None:
    revision = revisions.resolve(repo, "HEAD")
    assert revision.commit == git(repo, "rev-parse", "HEAD") and revision.label == revision.commit[:12]
    folder = revisions.materialize(repo, revision, tmp_path / "build")
    assert folder == tmp_path / "build" / revision.label
    assert (folder / "targets" / "demo" / "lock.txt").read_text() == "v1\n"
    assert (folder / "contract" / "openapi.json").exists()
    assert not (folder / "targets" / "demo" / "new.txt").exists()
    revisions.remove(folder)
    assert not folder.exists()


def test_the_working_tree_is_copied_as_it_is_but_not_what_git_ignores(repo: Path, tmp_path: Path) -> None:
    revision = revisions.resolve(repo, "WORKTREE")
    assert revision.commit is None and revision.label == "worktree"
    folder = revisions.materialize(repo, revision, tmp_path / "build")
    assert (folder / "targets" / "demo" / "lock.txt").read_text() == "v2\n"
    assert (folder / "targets" / "demo" / "new.txt").exists()
    assert not (folder / "targets" / "demo" / "node_modules").exists()


def test_an_unknown_revision_or_one_without_targets_is_refused_and_leaves_nothing(repo: Path, tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="unknown git revision 'no-such-branch'"):
        revisions.resolve(repo, "no-such-branch")
    git(repo, "rm", "-rq", "--cached", "targets")
    git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "no targets")
    with pytest.raises(BenchError, match="no targets/ folder"):
        revisions.materialize(repo, revisions.resolve(repo, "HEAD"), tmp_path / "build")
    assert list((tmp_path / "build").iterdir()) == []


def test_run_ab_removes_the_revisions_folders_when_the_run_fails(repo: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []

    def failing_prepare(config, targets, scenarios):
        seen.append([t.name for t in targets])
        assert all(t.directory.exists() for t in targets)
        raise BenchError("the run failed")

    monkeypatch.setattr(ab_run, "prepare_run", failing_prepare)
    monkeypatch.setattr(ab_run, "ab_scenarios", lambda options: [])
    build = tmp_path / "build"
    options = ab_run.AbOptions(base_ref="HEAD", head_ref="WORKTREE", repo=repo, build_dir=build)
    with pytest.raises(BenchError, match="the run failed"):
        ab_run.run_ab(options)
    assert seen == [["demo-base", "demo-head"]]
    assert sorted(p.name for p in build.iterdir()) == ["cache"]  # the revisions are gone, the installs kept


def test_installs_are_cached_by_lock_file_and_linked(repo: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    base = revisions.materialize(repo, revisions.resolve(repo, "HEAD"), tmp_path / "a")
    again = revisions.materialize(repo, revisions.resolve(repo, "HEAD"), tmp_path / "b")
    head = revisions.materialize(repo, revisions.resolve(repo, "WORKTREE"), tmp_path / "c")
    targets = [load_target(folder / "targets" / "demo") for folder in (base, again, head)]
    assert install.install_cached(targets[0], cache) is True
    assert install.install_cached(targets[1], cache) is False  # same lock file: nothing installed
    assert install.install_cached(targets[2], cache) is True  # another lock file: its own install
    assert len(list(cache.iterdir())) == 2
    for target, lock in zip(targets, ("v1\n", "v1\n", "v2\n"), strict=True):
        link = target.directory / "deps"
        assert link.is_symlink() and (link / "made").read_text() == lock
        assert (target.directory / ".install-stamp").exists()


def test_an_interrupted_install_is_redone(repo: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    target = load_target(revisions.materialize(repo, revisions.resolve(repo, "HEAD"), tmp_path / "a")
                         / "targets" / "demo")
    install.cache_folder(target, cache).mkdir(parents=True)  # no .complete: a killed install
    assert install.install_cached(target, cache) is True


# ---- the gate and the exit codes ---------------------------------------------------------------


def ab_results(base: list[float], head: list[float], metric: str = "rps") -> RunResults:
    metrics = [Metric(target=f"express-{side}", scenario="throughput", trial=i, step="users=32", metric=metric,
                      value=v, unit="req/s")
               for side, values in (("base", base), ("head", head)) for i, v in enumerate(values, start=1)]
    return RunResults(run_id="ab", created_at="2026-11-29T10:00:00+00:00", metrics=metrics)


BASE = [1000.0, 1012, 991, 1004, 996, 1001, 1003, 998]


def gate(head: list[float], metric: str = "rps") -> AbResult:
    changes, warnings = paired_changes(ab_results(BASE, head, metric), threshold_pct=5, alpha=0.05)
    return AbResult("main", "WORKTREE", "abc", "worktree", "results/ab", 5, 0.05, changes, warnings)


def test_a_ten_percent_slower_head_exits_1_and_an_unchanged_one_0() -> None:
    slow = gate([v * 0.90 * (1 + 0.004 * (-1) ** i) for i, v in enumerate(BASE)])
    assert [c.verdict for c in slow.changes] == ["regression"] and slow.exit_code == 1
    same = gate([v * (1 + 0.01 * (-1) ** i) for i, v in enumerate(BASE)])
    assert [c.verdict for c in same.changes] == ["no change"] and same.exit_code == 0


def test_an_ungated_figure_is_not_judged_and_a_missing_round_is_said() -> None:
    assert gate(BASE, metric="requests").changes == []
    changes, warnings = paired_changes(ab_results(BASE, BASE[:7]), threshold_pct=5, alpha=0.05)
    assert changes[0].rounds == 7 and "1 round(s) with one side only" in warnings[0]


@pytest.mark.parametrize(("outcome", "code"), [("regression", 1), ("none", 0), ("bad", 2), ("bug", 2)])
def test_exit_codes(outcome: str, code: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def fake_run_ab(options, progress=None):
        if outcome == "bad":
            raise BenchError("unknown git revision 'x'")
        if outcome == "bug":
            raise ZeroDivisionError("a bug")
        head = [v * 0.85 for v in BASE] if outcome == "regression" else BASE
        result = gate(head)
        return AbResult(**{**result.__dict__, "run_dir": str(tmp_path)})

    monkeypatch.setattr(ab_run, "run_ab", fake_run_ab)
    assert main(["ab", "main", "WORKTREE", "--out", str(tmp_path / "out")]) == code
    if code < 2:
        assert {p.name for p in (tmp_path / "out").iterdir()} == {e.filename for e in AB_EXPORTERS}


# ---- the CI formats ----------------------------------------------------------------------------

# https://bencher.dev/bmf.json (draft-07), as published.
BMF_SCHEMA = {"type": "object", "patternProperties": {".+": {"type": "object", "patternProperties": {".+": {
    "type": "object", "properties": {"value": {"type": "number"}, "lower_value": {"type": "number"},
                                     "upper_value": {"type": "number"}}, "required": ["value"]}}}}}


def check_schema(value: object, schema: dict) -> None:
    """The part of JSON Schema draft-07 the BMF schema uses: type, patternProperties, properties, required."""
    kinds = {"object": dict, "number": (int, float)}
    assert isinstance(value, kinds[schema["type"]]) and not isinstance(value, bool), (value, schema)
    if isinstance(value, dict):
        assert set(schema.get("required", [])) <= set(value)
        for key, item in value.items():
            sub = schema.get("properties", {}).get(key) or schema.get("patternProperties", {}).get(".+")
            if sub is not None:
                assert key  # ".+": a non-empty name
                check_schema(item, sub)


def ab_figures() -> list:
    improved = gate([v * 0.7 for v in BASE], "latency_p99_ms")
    return from_ab(gate([v * 0.88 for v in BASE])) + from_ab(improved)


def test_bmf_matches_bencher_schema_with_its_interval() -> None:
    data = json.loads(export_ci.to_bmf(ab_figures()))
    check_schema(data, BMF_SCHEMA)
    rps = data["express throughput users=32"]["rps"]
    assert rps["lower_value"] <= rps["value"] <= rps["upper_value"]
    assert set(data["express throughput users=32"]) == {"rps", "latency_p99_ms"}


def test_github_action_benchmark_files_split_by_direction_in_its_reader_shape() -> None:
    figures = ab_figures()
    bigger = json.loads(export_ci.to_github_benchmark(figures, "higher"))
    smaller = json.loads(export_ci.to_github_benchmark(figures, "lower"))
    assert [e["name"] for e in bigger] == ["express throughput users=32 rps"]
    assert [e["name"] for e in smaller] == ["express throughput users=32 latency_p99_ms"]
    for entry in bigger + smaller:  # its BenchmarkResult: name, value (number), unit, and optional range, extra
        assert set(entry) <= {"name", "value", "unit", "range", "extra"}
        assert isinstance(entry["value"], float) and isinstance(entry["unit"], str) and isinstance(entry["range"], str)


def test_junit_has_a_test_case_per_gated_figure_and_a_failure_per_regression() -> None:
    figures = ab_figures()
    root = ET.fromstring(export_ci.to_junit(figures, "bench ab"))
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == len(figures) == int(suite.get("tests"))
    failed = [c for c in cases if c.find("failure") is not None]
    assert int(suite.get("failures")) == len(failed) == sum(f.failed for f in figures) == 1
    assert failed[0].get("name") == "throughput users=32 rps" and failed[0].get("classname") == "bench ab.express"
    assert "regression" in failed[0].find("failure").get("message")


def test_compare_writes_the_ci_formats_too(tmp_path: Path) -> None:
    from test_compare import make_run, throughput

    base = make_run(tmp_path, "base", throughput([1000, 1010, 990, 1005, 995], [500, 505, 495, 502, 498]))
    new = make_run(tmp_path, "new", throughput([1000, 1010, 990, 1005, 995], [400, 404, 396, 401, 398]))
    from harness.compare import compare_runs

    paths = write_reports(compare_runs(base, new), tmp_path / "out", EXPORTERS)
    assert {p.name for p in paths} >= {"bmf.json", "benchmark-bigger.json", "benchmark-smaller.json", "junit.xml"}
    root = ET.fromstring((tmp_path / "out" / "junit.xml").read_text())
    failed = [c.get("classname") for c in root.iter("testcase") if c.find("failure") is not None]
    assert failed == ["bench compare.express"]
    check_schema(json.loads((tmp_path / "out" / "bmf.json").read_text()), BMF_SCHEMA)


def test_a_head_that_serves_nothing_is_a_regression_not_a_pass() -> None:
    """A head whose server answers nothing has rps 0 in every round: the worst regression, never left out."""
    dead = gate([0.0] * len(BASE))
    assert [c.verdict for c in dead.changes] == ["regression"] and dead.exit_code == 1
    assert dead.changes[0].ratio == 0.0 and dead.warnings == []


def test_the_working_tree_is_found_from_a_subfolder(repo: Path, tmp_path: Path) -> None:
    top = revisions.toplevel(repo / "targets" / "demo")
    folder = revisions.materialize(top, revisions.resolve(top, "WORKTREE"), tmp_path / "build")
    assert (folder / "contract" / "openapi.json").exists()
    with pytest.raises(BenchError, match="not inside a git work tree"):
        revisions.toplevel(tmp_path / "build")


def test_an_a_a_run_gives_each_side_its_own_folder(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folders: list[Path] = []

    def failing_prepare(config, targets, scenarios):
        folders.extend(t.directory for t in targets)
        raise BenchError("stop here")

    monkeypatch.setattr(ab_run, "prepare_run", failing_prepare)
    monkeypatch.setattr(ab_run, "ab_scenarios", lambda options: [])
    with pytest.raises(BenchError, match="stop here"):
        ab_run.run_ab(ab_run.AbOptions(base_ref="HEAD", head_ref="HEAD", repo=repo, build_dir=tmp_path / "build"))
    assert len(set(folders)) == 2 and folders[1].parent.parent.name.endswith("-head")
    assert not any(f.exists() for f in folders)


def test_claims_junit_fails_a_refuted_claim_and_skips_an_unjudged_one() -> None:
    from types import SimpleNamespace

    def verdict(claim_id: str, word: str) -> SimpleNamespace:
        return SimpleNamespace(claim=SimpleNamespace(id=claim_id, claim=f"claim {claim_id}"), verdict=word,
                               reason=f"because {claim_id}")

    verdicts = [verdict("P1", "supported"), verdict("P2", "refuted"), verdict("P3", "inconclusive"),
                verdict("F1", "not checkable")]
    suite = ET.fromstring(claims_junit.claims_to_junit(verdicts)).find("testsuite")
    cases = {c.get("name").split(":")[0]: c for c in suite.findall("testcase")}
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("4", "1", "2")
    assert cases["P2"].find("failure").get("message") == "refuted: because P2"
    assert cases["P3"].find("skipped") is not None and cases["F1"].find("skipped") is not None
    assert cases["P1"].find("failure") is None and cases["P1"].find("skipped") is None
