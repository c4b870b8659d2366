"""The terminal's end-of-run lines beside the table: the load generator's ceiling, and per scenario the
CPU others took from each role and the rounds re-run as disturbed (issue 12)."""

from __future__ import annotations

from harness.results import Metric, RunResults, TrialRecord
from harness.results.records import DiscardedAttemptRecord, GeneratorCeilingRecord
from harness.terminal import ceiling_line, disturbance_lines


def trial(target: str, scenario: str, number: int, rerun: int = 0) -> TrialRecord:
    discarded = [DiscardedAttemptRecord(attempt=a, reason="foreign CPU above 10%") for a in range(1, rerun + 1)]
    return TrialRecord(target=target, scenario=scenario, trial=number, order=number, started_at="now", wall_s=1,
                       discarded_attempts=discarded)


def foreign(target: str, scenario: str, number: int, role: str, pct: float) -> Metric:
    return Metric(target=target, scenario=scenario, trial=number, step="users=64",
                  metric=f"{role}_foreign_cpu_pct", value=pct, unit="%")


def test_each_scenario_shows_the_most_others_took_per_role_and_its_re_run_rounds():
    results = RunResults(run_id="r", created_at="now")
    # round 2 of throughput re-run twice: both targets' records carry it, it counts once per round
    results.trials += [trial("a", "throughput", 1), trial("b", "throughput", 1),
                       trial("a", "throughput", 2, rerun=2), trial("b", "throughput", 2, rerun=2),
                       trial("a", "cold_start", 1)]
    results.metrics += [foreign("a", "throughput", 1, "server", 1.5), foreign("b", "throughput", 2, "server", 7.25),
                        foreign("a", "throughput", 1, "loadgen", 12.0)]
    assert disturbance_lines(results) == [
        "throughput: others took up to 7.25% of the server's CPUs, 12% of the load generator's; "
        "1 of 2 rounds re-run (2 re-runs) as disturbed",
    ]


def test_a_quiet_scenario_says_no_re_run():
    results = RunResults(run_id="r", created_at="now")
    results.trials += [trial("a", "crud", 1)]
    results.metrics += [foreign("a", "crud", 1, "server", 0.4)]
    assert disturbance_lines(results) == ["crud: others took up to 0.4% of the server's CPUs; no round re-run"]


def test_the_wait_others_caused_is_said_where_recorded():
    results = RunResults(run_id="r", created_at="now")
    results.trials += [trial("a", "io", 1)]
    results.metrics += [foreign("a", "io", 1, "server", 58.0),
                        Metric(target="a", scenario="io", trial=1, step="users=64",
                               metric="server_unexplained_wait_pct", value=0.8, unit="%")]
    assert disturbance_lines(results) == [
        "io: others took up to 58% of the server's CPUs (and made its processes wait up to 0.8% of a window); "
        "no round re-run"]


def test_the_ceiling_line_says_the_rate_or_why_there_is_none():
    measured = GeneratorCeilingRecord(generator_ceiling_rps=8512.3, target="node_raw", users=64, duration_s=3.0,
                                      loadgen_cpu_pct=98.6, limited_by="generator")
    assert ceiling_line(measured) == ("load generator ceiling: 8,512 req/s (node_raw, 64 users, 3 s; Locust CPU 99%, "
                                      "generator-bound); steps over 70% of it decide nothing")
    assert ceiling_line(measured.model_copy(update={"disturbed": True, "limited_by": "neither"})).startswith(
        "load generator ceiling: 8,512 req/s (node_raw, 64 users, 3 s; Locust CPU 99%, disturbed: low)")
    assert ceiling_line(GeneratorCeilingRecord(generator_ceiling_rps=None, reason="--no-ceiling")) == (
        "load generator ceiling: not measured (--no-ceiling)")
    assert ceiling_line(None) == "load generator ceiling: not recorded"


def test_rounds_kept_disturbed_are_counted_beside_the_re_runs():
    results = RunResults(run_id="r", created_at="now")
    results.trials += [trial("a", "throughput", 1, rerun=2), trial("a", "throughput", 2)]
    results.trials[0].flags.append("disturbed:users=64")
    results.trials[1].flags.append("disturbed:users=64")
    results.metrics += [foreign("a", "throughput", 1, "server", 45.0), foreign("a", "throughput", 2, "server", 44.0)]
    assert disturbance_lines(results) == [
        "throughput: others took up to 45% of the server's CPUs; 1 of 2 rounds re-run (2 re-runs) as disturbed; "
        "2 of 2 rounds kept disturbed (flagged)"]
