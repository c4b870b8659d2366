"""The time left in a run (harness.eta) and the live lines of finished steps (harness.terminal)."""

from __future__ import annotations

import io
import time

import pytest
from rich.console import Console

from harness.eta import Eta
from harness.kinds.base import TrialOutcome
from harness.kinds.load import Params
from harness.results import Metric
from harness.terminal import progress_reporter, step_lines


def test_before_any_trial_the_plan_alone_is_the_estimate():
    eta = Eta([10.0, 10.0, 20.0], ["a", "a", "b"])
    assert eta.remaining_s(now_s=0.0) == 40.0


def test_a_scenario_seen_takes_what_its_trials_took_and_others_get_the_overhead():
    eta = Eta([10.0, 10.0, 20.0, 20.0], ["a", "a", "b", "b"])
    eta.started(0, now_s=0.0)
    eta.started(1, now_s=14.0)  # trial 0 took 14 s: 4 s over its plan
    assert eta.expected_s(1) == 14.0 and eta.expected_s(2) == 24.0
    # trial 1 has run 5 of its expected 14 s; then two "b" trials at 20 + 4 s each
    assert eta.remaining_s(now_s=19.0) == pytest.approx(9.0 + 24.0 + 24.0)


def test_a_rerun_lengthens_the_trial_it_repeats():
    eta = Eta([10.0, 10.0], ["a", "a"])
    eta.started(0, now_s=0.0)
    eta.started(0, now_s=10.0)  # a re-run of the same trial: still trial 0
    eta.started(1, now_s=20.0)
    assert eta.observed_s == {0: 20.0} and eta.remaining_s(now_s=20.0) == 20.0


def test_nothing_is_left_once_the_last_trial_ended_and_never_below_zero():
    eta = Eta([1.0, 1.0], ["a", "a"])
    eta.started(0, now_s=0.0)
    eta.started(1, now_s=3.0)
    assert eta.remaining_s(now_s=100.0) == 0.0  # overdue: 0, not negative
    eta.finished(now_s=101.0)
    assert eta.remaining_s(now_s=101.0) == 0.0


def test_a_load_trial_plans_its_warmups_windows_and_tail():
    params = Params(users=[8, 16], warmup_s=1, first_warmup_s=2, duration_s=2, trials=1)
    assert params.planned_s() == pytest.approx(2 + 1 + 2 * 2 + 1.0)  # warm-ups, windows, the load's tail


def _outcome() -> TrialOutcome:
    def metric(name: str, value: float, step: str) -> Metric:
        return Metric(target="express", scenario="crud", trial=1, step=step, metric=name, value=value, unit="")

    return TrialOutcome(metrics=[metric("rps", 5123.4, "users=32"), metric("latency_p99_ms", 12.5, "users=32"),
                                 metric("error_rate", 0.0, "users=32"), metric("rps", 10.0, "users=32,endpoint=x"),
                                 metric("server_cpu_pct", 99.0, "users=32")],
                        flags=["generator_bound:users=32", "loadgen_saturated:users=64"])


def test_a_finished_step_has_one_line_with_its_rps_p99_errors_and_flags():
    [line] = step_lines("crud · express · trial 1", _outcome())
    assert "users=32" in line and "req/s" in line and "ms p99" in line and "errors" in line
    assert "[generator_bound]" in line and "loadgen_saturated" not in line  # that flag is another step's


def test_plain_output_gives_the_time_left_and_quiet_gives_nothing():
    out = io.StringIO()
    console = Console(file=out, width=160)  # not a terminal: one plain line per trial
    with progress_reporter(console, Eta([10.0, 10.0], ["a", "a"])) as report:
        report("crud · express · trial 1", 1, 2)
        report.trial_done("crud · express · trial 1", _outcome())  # live lines are a terminal's only
    assert "left] crud · express · trial 1" in out.getvalue() and "req/s" not in out.getvalue()
    quiet = io.StringIO()
    with progress_reporter(Console(file=quiet), Eta([1.0], ["a"]), quiet=True) as report:
        report("crud · express · trial 1", 1, 1)
    assert quiet.getvalue() == ""


def test_a_terminal_shows_the_time_left_and_a_live_line_per_finished_step():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=160)
    with progress_reporter(console, Eta([10.0, 10.0], ["a", "a"])) as report:
        report("crud · express · trial 1", 1, 2)
        report.trial_done("crud · express · trial 1", _outcome())
        left = report.time_left(time.monotonic(), 1)  # the bar's last column
        assert left.startswith("~0:") and left.endswith(" left")
    text = out.getvalue()
    assert "crud · express · trial 1 · users=32:" in text and "req/s" in text
