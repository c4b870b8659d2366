from pathlib import Path

import pytest

from harness.errors import BenchError
from harness.scenario import discover_scenarios, load_scenario

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str, name: str = "s.py") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# quick leaves out what it could never judge, to keep make bench within about 8 minutes on 2 cores: memory's
# claims need a 60-s hold per step, realtime's and connections' 3 trials of a sweep of half a minute or more
# each (claims.toml `needs`, policy.single_trial); db (TechEmpower's tests) feeds no claim
QUICK_LEAVES_OUT = {"memory", "realtime", "connections", "db"}


def test_every_shipped_scenario_loads_and_has_the_main_profiles():
    scenarios = discover_scenarios(ROOT / "scenarios")
    assert {"throughput", "cold_start"} <= set(scenarios)
    for scenario in scenarios.values():
        for profile in ("full", "test") if scenario.name in QUICK_LEAVES_OUT else ("quick", "full", "test"):
            assert scenario.params(profile).trials >= 1
    assert all("quick" not in scenarios[name].profiles for name in QUICK_LEAVES_OUT)


def test_the_ci_profile_has_enough_trials_for_its_test():
    # Mann-Whitney at alpha 0.05 needs 4 trials a side to reach p < 0.05 at all (harness/stats.py).
    ci = [s for s in discover_scenarios(ROOT / "scenarios").values() if "ci" in s.profiles]
    assert {"throughput", "crud", "cpu", "io", "cold_start"} <= {s.name for s in ci}
    assert all(s.params("ci").trials >= 5 for s in ci)


def test_scenario_is_read_without_importing_it(tmp_path):
    path = write(tmp_path, '"""Doc line."""\nSCENARIO = {"kind": "cold_start", "profiles": {"quick": {"trials": 2}}}\n'
                 "raise RuntimeError('must not run')\n")
    scenario = load_scenario(path)
    assert scenario.description == "Doc line."
    assert scenario.params("quick").trials == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x = 1\n", "defines no SCENARIO"),
        ("SCENARIO = dict(kind='load')\n", "literal dict"),
        ("SCENARIO = {\n", "syntax error on line"),
        ("SCENARIO = {'kind': 'nope', 'profiles': {}}\n", "unknown kind"),
        ("SCENARIO = {'kind': 'cold_start', 'profiles': {'quick': {'trials': 0}}}\n", "profile 'quick'"),
        ("SCENARIO = {'kind': 'load', 'profiles': {'quick': {'users': [4], 'duration_s': 1, 'warmup_s': 0, "
         "'trials': 1, 'typo': 3}}}\n", "typo"),
        ("SCENARIO = {'kind': 'load', 'profile': {}}\n", "bad scenario file"),
    ],
)
def test_bad_scenario_files_give_one_clear_error(tmp_path, text, message):
    with pytest.raises(BenchError, match=message):
        load_scenario(write(tmp_path, text))


def test_missing_profile_is_named(tmp_path):
    scenario = load_scenario(write(tmp_path, "SCENARIO = {'kind': 'cold_start', 'profiles': {'quick': {'trials': 1}}}"))
    with pytest.raises(BenchError, match="no profile 'full'"):
        scenario.params("full")


def test_load_steps_cross_the_matrix_with_users(tmp_path):
    text = ("SCENARIO = {'kind': 'load', 'profiles': {'quick': {'users': [8, 16], 'warmup_s': 0, 'duration_s': 1,"
            " 'trials': 1, 'matrix': {'ms': [20, 100]}}}}")
    steps = load_scenario(write(tmp_path, text)).params("quick").steps()
    assert steps == [{"ms": 20, "users": 8}, {"ms": 20, "users": 16}, {"ms": 100, "users": 8}, {"ms": 100, "users": 16}]
