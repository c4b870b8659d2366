"""The load generator's ceiling (harness.ceiling): the step rule, the record, and the runner on fakes."""

from __future__ import annotations

import os
import random
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from typing import ClassVar

import pytest
from test_measuring_core import TARGETS, FakeLoad, FakeRuntime, context, load_result
from test_measuring_core import record as record_step  # the measuring core's fakes: no server, no Locust

from harness import ceiling
from harness.ceiling import (
    PROFILE_SECONDS,
    CeilingStep,
    ceiling_from_steps,
    ceiling_seconds,
    limited_by,
    record,
    steps_from_metrics,
)
from harness.errors import BenchError
from harness.kinds import load
from harness.kinds.base import Placement
from harness.results import Metric

PLACEMENT = Placement(server_cpus=[0], loadgen_cpus=[1], workers=1, loadgen_workers=1, sample_hz=10)


def step(users=64, rps=8000.0, errors=0.0, loadgen=99.0, server=40.0) -> CeilingStep:
    return CeilingStep(users=users, rps=rps, error_rate=errors, loadgen_cpu_pct=loadgen, server_cpu_pct=server)


def test_the_ceiling_is_the_fastest_usable_step():
    found = ceiling_from_steps([step(16, 5000.0), step(64, 8200.0), step(128, 7900.0)], 1, 1)
    assert found is not None
    assert found.rps == 8200.0 and found.step.users == 64
    assert found.limited_by == "generator"


def test_a_step_with_one_percent_errors_is_not_used():
    # the raw server refusing requests says nothing about the generator: its rate is not a ceiling
    found = ceiling_from_steps([step(16, 5000.0), step(64, 9000.0, errors=0.01)], 1, 1)
    assert found is not None and found.rps == 5000.0


def test_a_disturbed_step_is_used_only_when_every_step_was_disturbed():
    quiet, hindered = step(rps=8000.0), CeilingStep(64, 4400.0, 0.0, 53.0, 10.0, disturbed=True, attempt=2)
    assert ceiling_from_steps([hindered, quiet], 1, 1).rps == 8000.0
    faster_but_disturbed = CeilingStep(64, 9000.0, 0.0, 99.0, 10.0, disturbed=True)
    assert ceiling_from_steps([faster_but_disturbed, quiet], 1, 1).rps == 8000.0
    found = ceiling_from_steps([hindered], 1, 1)
    assert found.rps == 4400.0 and found.step.disturbed  # kept, and recorded as disturbed


def test_no_usable_step_gives_no_ceiling():
    assert ceiling_from_steps([step(errors=0.5), step(rps=0.0)], 1, 1) is None
    assert ceiling_from_steps([], 1, 1) is None


def test_a_saturated_raw_server_makes_the_ceiling_a_lower_bound():
    assert limited_by(step(loadgen=60.0, server=99.0), 1, 1) == "server"
    assert limited_by(step(loadgen=60.0, server=50.0), 1, 1) == "neither"


def test_the_generator_saturates_against_all_of_its_cores():
    # two Locust processes on two cores: 150% in all is not saturated, 185% is (flags.SATURATION_PCT)
    assert limited_by(step(loadgen=150.0), 2, 1) == "neither"
    assert limited_by(step(loadgen=185.0), 2, 1) == "generator"


def test_core_counts_must_be_given():
    with pytest.raises(ValueError):
        ceiling_from_steps([step()], 0, 1)


def test_the_profile_or_the_flag_sets_the_seconds():
    assert ceiling_seconds("quick", None) == PROFILE_SECONDS["quick"] > 0
    assert ceiling_seconds("test", None) == 0.0
    assert ceiling_seconds("quick", 0.0) == 0.0  # --no-ceiling
    assert ceiling_seconds("quick", 5.0) == 5.0


def test_the_record_keeps_method_cpu_sets_and_the_generators_cpu():
    steps = [step(64, 8123.4, loadgen=97.5, server=35.0)]
    kept = record(ceiling_from_steps(steps, 1, 1), steps, 3.0, PLACEMENT)
    assert kept.generator_ceiling_rps == 8123.4
    assert kept.limited_by == "generator" and kept.users == 64 and kept.duration_s == 3.0
    assert kept.server_cpus == [0] and kept.loadgen_cpus == [1] and kept.loadgen_cpu_pct == 97.5
    assert "node_raw" in kept.method and kept.steps[0]["rps"] == 8123.4 and kept.disturbed is False


def test_a_failed_ceiling_is_recorded_with_why():
    steps = [step(errors=0.2)]
    kept = record(None, steps, 3.0, PLACEMENT)
    assert kept.generator_ceiling_rps is None and "errors" in kept.reason


def test_steps_are_read_from_the_aggregate_rows():
    def m(metric, value, step="users=64"):
        return Metric(target="node_raw", scenario="generator_ceiling", trial=1, step=step, metric=metric, value=value,
                      unit="")

    metrics = [m("rps", 8000.0), m("error_rate", 0.0), m("loadgen_cpu_pct", 98.0), m("server_cpu_pct", 30.0),
               m("rps", 1.0, "users=64,endpoint=GET /json"), m("max_concurrency_slo", 3.0, "")]
    assert steps_from_metrics(metrics) == [step(64, 8000.0, 0.0, 98.0, 30.0)]


# ---- the runner and the guard it feeds, on the measuring core's fakes ---------------------------



@pytest.fixture
def fake_generator() -> Iterator[type[FakeLoad]]:
    """The measuring core's FakeLoad (800 responses in 2 s a step), with an idle `sleep` as its process."""
    process = subprocess.Popen(["sleep", "60"])

    class Load(FakeLoad):
        made: ClassVar[list[FakeLoad]] = []
        pid: ClassVar[int] = process.pid

    try:
        yield Load
    finally:
        process.kill()
        process.wait()


def test_the_runner_runs_the_baseline_with_the_ceiling_users_and_keeps_the_rate(tmp_path, fake_generator):
    kept = ceiling.measure(TARGETS[0], 2.0, PLACEMENT, FakeRuntime(), tmp_path, load_generator=fake_generator)
    made = fake_generator.made[0]  # more than one only if this busy machine disturbed the first attempt
    assert made.spec.scenario_file.name == "ceiling_users.py" and made.spec.cpus == [1]
    assert [s.users for s in made.spec.steps] == [ceiling.USERS] and made.spec.steps[0].duration_s == 2.0
    assert kept.generator_ceiling_rps == 400.0  # the fake's 800 responses in 2 s
    assert kept.users == ceiling.USERS and kept.loadgen_cpus == [1] and kept.loadgen_cpu_pct is not None


def test_a_failed_ceiling_run_is_recorded_not_raised(tmp_path, monkeypatch, fake_generator):
    def no_measurement(self):
        raise BenchError("Locust produced no measurement")

    monkeypatch.setattr(fake_generator, "results", no_measurement)
    kept = ceiling.measure(TARGETS[0], 2.0, PLACEMENT, FakeRuntime(), tmp_path, load_generator=fake_generator)
    assert kept.generator_ceiling_rps is None and "no measurement" in kept.reason


@pytest.mark.parametrize(("ceiling_rps", "bound"), [(None, False), (1000.0, False), (500.0, True)])
def test_a_closed_step_above_70_percent_of_the_ceiling_is_generator_bound(tmp_path, ceiling_rps, bound):
    ctx = context(tmp_path)
    ctx.generator_ceiling_rps = ceiling_rps
    outcome = record_step(ctx, load_result({"GET /json": (800, 0, 10_000)}))  # 400 req/s
    assert ("generator_bound:users=4" in outcome.flags) is bound


def test_an_open_step_is_judged_on_its_offered_rate():
    assert load.beyond_headroom({"rate": 800}, 100.0, 1000.0)  # offered 800 > 700, whatever it achieved
    assert not load.beyond_headroom({"rate": 700}, 690.0, 1000.0)


def test_the_measured_ceiling_reaches_the_rate_sweeps_guard_unless_the_profile_states_one():
    params = load.Params(arrival={"rate_per_s": [100]}, warmup_s=0, duration_s=1, trials=1,
                         summary={"rate_slo_p99_ms": 50})
    assert load.summary_settings(params, 900.0)["generator_ceiling_rps"] == 900.0
    assert "generator_ceiling_rps" not in load.summary_settings(params, None)
    stated = params.model_copy(update={"summary": {"rate_slo_p99_ms": 50, "generator_ceiling_rps": 5.0}})
    assert load.summary_settings(stated, 900.0)["generator_ceiling_rps"] == 5.0


def run_with(tmp_path, config, ceiling_s: float, runtime: FakeRuntime | None = None, target=TARGETS[0]):
    from harness.config import RunConfig
    from harness.results import ResultsStore, RunResults
    from harness.run import PlannedTrial, PreparedRun
    from harness.scenario import Scenario

    scenario = Scenario(name="throughput", path=tmp_path / "t.py", description="", kind="load",
                        profiles={"test": {"users": [4], "warmup_s": 0, "duration_s": 1, "trials": 1}})
    store = ResultsStore(tmp_path / "run", RunResults(run_id="r", created_at="2026-01-01T00:00:00+00:00"), samples=[])
    return PreparedRun(RunConfig(**config), store, [PlannedTrial(scenario, TARGETS[1], 1)], PLACEMENT,
                       runtime or FakeRuntime(), ceiling_target=target, ceiling_s=ceiling_s)


@pytest.mark.parametrize(("config", "ceiling_s", "reason", "warned"), [
    ({"profile": "test"}, 0.0, "the test profile measures none", False),
    ({"profile": "quick", "ceiling_s": 0.0}, 0.0, "--no-ceiling", True),  # asked to skip: said so as a warning
    ({"profile": "quick", "runtime": "docker"}, 3.0, "native runtime", False),
])  # fmt: skip
def test_a_run_without_a_ceiling_says_why(tmp_path, config, ceiling_s, reason, warned):
    prepared = run_with(tmp_path, config, ceiling_s)
    prepared.measure_ceiling()
    kept = prepared.store.results.generator_ceiling
    assert kept is not None and kept.generator_ceiling_rps is None and reason in kept.reason
    assert any("no load generator ceiling" in w for w in prepared.store.results.warnings) is warned
    assert prepared.ceiling_rps is None


def test_a_ceiling_measured_disturbed_is_kept_and_warned_about(tmp_path, monkeypatch):
    from harness.results.records import GeneratorCeilingRecord

    prepared = run_with(tmp_path, {"profile": "quick"}, 3.0)
    disturbed = GeneratorCeilingRecord(generator_ceiling_rps=4800.0, disturbed=True,
                                       foreign_cpu_pct={"server": 43.0, "loadgen": 35.0})
    monkeypatch.setattr(ceiling, "measure", lambda *args, **kwargs: disturbed)
    prepared.measure_ceiling()
    assert prepared.ceiling_rps == 4800.0
    (warning,) = prepared.store.results.warnings
    assert "measured disturbed" in warning and "server 43%, loadgen 35%" in warning


def test_a_run_without_the_baseline_target_says_so(tmp_path):
    prepared = run_with(tmp_path, {"profile": "quick"}, 3.0, target=None)
    prepared.measure_ceiling()
    assert "node_raw" in prepared.store.results.generator_ceiling.reason


def test_a_steps_foreign_cpu_and_disturbance_are_read_with_it():
    def m(metric, value):
        return Metric(target="node_raw", scenario="generator_ceiling", trial=1, step="users=64", metric=metric,
                      value=value, unit="")

    metrics = [m("rps", 4400.0), m("error_rate", 0.0), m("loadgen_foreign_cpu_pct", 40.0),
               m("loadgen_cpu_wait_pct", 30.0), m("server_foreign_cpu_pct", 2.0)]
    (read,) = steps_from_metrics(metrics, attempt=2)
    assert read.disturbed and read.attempt == 2 and read.foreign_cpu_pct == {"loadgen": 40.0, "server": 2.0}


def test_a_disturbed_ceiling_run_is_re_run_and_the_quiet_attempt_decides(tmp_path, fake_generator, monkeypatch):
    calls = []

    def figures(metrics, attempt=1):
        calls.append(attempt)
        return [replace(step(rps=4000.0 if attempt == 1 else 8000.0), disturbed=attempt == 1, attempt=attempt)]

    monkeypatch.setattr(ceiling, "steps_from_metrics", figures)
    kept = ceiling.measure(TARGETS[0], 1.0, PLACEMENT, FakeRuntime(), tmp_path, load_generator=fake_generator)
    assert calls == [1, 2] and kept.generator_ceiling_rps == 8000.0 and not kept.disturbed
    assert [s["attempt"] for s in kept.steps] == [1, 2]


def test_a_run_measures_the_ceiling_first_and_hands_it_to_every_trial(tmp_path, monkeypatch):
    from test_measuring_core import register

    from harness.config import RunConfig
    from harness.kinds.base import TrialOutcome
    from harness.results import ResultsStore, RunResults
    from harness.results.records import GeneratorCeilingRecord
    from harness.run import PreparedRun, plan_trials
    from harness.scenario import KINDS, Scenario

    seen: list[float | None] = []

    class Kind:  # a load kind that only notes the ceiling its trials were given
        Params = load.Params

        @staticmethod
        def run_trial(ctx):
            seen.append(ctx.generator_ceiling_rps)
            return TrialOutcome()

    register(monkeypatch, KINDS, "load", Kind)
    measured = GeneratorCeilingRecord(generator_ceiling_rps=7000.0)
    monkeypatch.setattr(ceiling, "measure", lambda *args, **kwargs: measured)
    scenario = Scenario(name="throughput", path=tmp_path / "t.py", description="", kind="load",
                        profiles={"quick": {"users": [4], "warmup_s": 0, "duration_s": 1, "trials": 2}})
    cpus = sorted(os.sched_getaffinity(0))
    placement = Placement(server_cpus=cpus[:1], loadgen_cpus=cpus[-1:], workers=1, loadgen_workers=1, sample_hz=10)
    store = ResultsStore(tmp_path / "run", RunResults(run_id="r", created_at="2026-01-01T00:00:00+00:00"), samples=[])
    plan = plan_trials([scenario], TARGETS, "quick", "alternate", random.Random(0))
    PreparedRun(RunConfig(profile="quick"), store, plan, placement, FakeRuntime(), behaviour_checks=lambda s: {},
                ceiling_target=TARGETS[0], ceiling_s=3.0).execute()
    assert seen == [7000.0] * 4
    assert store.results.generator_ceiling.generator_ceiling_rps == 7000.0
