"""Scenario logic on constructed data: SLO chain, knee, held connections, I/O ideal, RSS slope."""

import pytest
from hdrh.histogram import HdrHistogram

from harness.kinds.load_summary import (
    answered_figures,
    concurrency_figures,
    connection_figures,
    io_figures,
    memory_figures,
    trial_figures,
)
from harness.loadgen.driver import EndpointResult, LoadResult
from harness.measure import SATURATION_PCT, little_law_ratio, resource_figures
from harness.results import Metric, Sample
from harness.sampler import Reading


def make(metric, value, unit, step):
    return Metric(target="t", scenario="s", trial=1, step=step, metric=metric, value=value, unit=unit)


def step_metrics(rows):
    """rows: (users, rps, p99_ms, error_rate, rss_mb)"""
    out = []
    for users, rps, p99, err, rss in rows:
        step = f"users={users}"
        out += [make("rps", rps, "req/s", step), make("latency_p99_ms", p99, "ms", step),
                make("error_rate", err, "ratio", step), make("server_rss_mb", rss, "MB", step)]
    out.append(make("rps", 1.0, "req/s", "users=8,endpoint=GET /x"))  # per-endpoint rows are ignored
    return out


def by_name(metrics):
    return {m.metric: m.value for m in metrics}


def test_concurrency_summary_finds_the_slo_step_and_the_knee():
    rows = [(8, 1000, 5, 0, 50), (16, 1900, 8, 0, 50), (32, 3000, 12, 0, 51), (64, 3300, 25, 0, 52),
            (128, 3350, 60, 0, 53), (256, 3360, 130, 0, 55)]
    figures = by_name(concurrency_figures(step_metrics(rows), 100, make))
    assert figures["max_concurrency_slo"] == 128
    assert figures["knee_users"] in (32, 64)


def test_concurrency_summary_with_errors_at_the_first_step_is_zero():
    rows = [(8, 1000, 5, 0.5, 50), (16, 1900, 8, 0, 50), (32, 3000, 12, 0, 51)]
    assert by_name(concurrency_figures(step_metrics(rows), 100, make))["max_concurrency_slo"] == 0


def test_connections_held_stops_at_the_first_failing_step_and_memory_slope():
    rows = [(500, 250, 5, 0.0, 60), (1000, 500, 6, 0.005, 70), (2000, 900, 9, 0.2, 90), (4000, 1000, 9, 0.0, 130)]
    figures = by_name(connection_figures(step_metrics(rows), 0.99, make))
    assert figures["connections_held"] == 1000
    assert figures["memory_per_connection_kb"] == pytest.approx(20.0, rel=0.05)  # 20 MB per 1000 connections


def test_io_ideal_and_efficiency():
    metrics = [make("rps", 600.0, "req/s", "ms=20,users=16")]
    figures = by_name(io_figures(metrics, "ms", 0.0, make))
    assert figures["rps_ideal"] == pytest.approx(800.0)
    assert figures["io_efficiency"] == pytest.approx(0.75)


def test_memory_series_slope_and_cv_use_only_the_measured_window():
    samples = [Sample(target="t", scenario="s", trial=1, step="users=4", role="server", t_s=t, cpu_pct=0,
                      rss_mb=100 + 2 * t / 60) for t in range(0, 120, 6)]
    samples.append(Sample(target="t", scenario="s", trial=1, step="users=4", role="server", t_s=-1, cpu_pct=0,
                          rss_mb=500))  # warm-up: excluded
    figures = by_name(memory_figures(samples, "users=4", make))
    assert figures["rss_slope_mb_per_min"] == pytest.approx(2.0)
    assert figures["rss_peak_mb"] < 105
    assert 0 < figures["rss_cv"] < 0.05


def test_saturation_is_judged_on_the_busiest_load_generator_process():
    loadgen = [Reading(t_s=i, cpu_pct=100, rss_mb=1, per_process_cpu_pct={1: 5.0, 2: 95.0}) for i in range(5)]
    resources = resource_figures(server=[], loadgen=loadgen)
    assert resources.loadgen_busiest_process_pct == pytest.approx(95.0)
    assert resources.loadgen_saturated
    calm = [Reading(t_s=i, cpu_pct=100, rss_mb=1, per_process_cpu_pct={1: 50.0, 2: 50.0}) for i in range(5)]
    assert not resource_figures(server=[], loadgen=calm).loadgen_saturated
    assert SATURATION_PCT == 90.0


def test_little_law_ratio_with_and_without_think_time():
    hist = HdrHistogram(1, 100_000_000, 3)
    for _ in range(100):
        hist.record_value(10_000)  # 10 ms
    result = LoadResult(duration_s=1.0, endpoints={"Aggregated": EndpointResult(100, 0, hist)}, errors={},
                        workers_reported=1, window_s=(0, 1))
    assert little_law_ratio(1, result) == pytest.approx(1.0, rel=0.01)  # 100 req/s × 10 ms = 1 user
    assert little_law_ratio(2, result) == pytest.approx(0.5, rel=0.01)
    assert little_law_ratio(11, result, think_s=0.1) == pytest.approx(1.0, rel=0.01)  # 100 × 0.11 = 11


def test_concurrency_summary_interpolates_the_slo_crossing():
    rows = [(8, 1000, 5, 0, 50), (64, 3000, 50, 0, 51), (256, 3300, 150, 0, 53)]
    figures = by_name(concurrency_figures(step_metrics(rows), 100, make))
    assert figures["max_concurrency_slo"] == 64
    # on the line through the origin and the failing step (p99 = N/X past saturation): 256 × 100/150
    assert figures["slo_crossing_users"] == pytest.approx(256 * 100 / 150)
    assert figures["slo_crossing_users_censored"] == 0


def test_a_trial_that_passes_every_step_is_kept_as_censored_at_the_top_step():
    rows = [(8, 1000, 5, 0, 50), (64, 3000, 50, 0, 51), (256, 3300, 90, 0, 53)]
    figures = by_name(concurrency_figures(step_metrics(rows), 100, make))
    assert figures["max_concurrency_slo"] == 256
    assert figures["slo_crossing_users"] == 256  # a lower bound: the crossing is above the top step
    assert figures["slo_crossing_users_censored"] == 1


def _load_result(ok: int, failed: int, ok_latency_us: int, duration_s: float = 1.0) -> LoadResult:
    hist = HdrHistogram(1, 100_000_000, 3)
    for _ in range(ok):
        hist.record_value(ok_latency_us)
    return LoadResult(duration_s=duration_s, endpoints={"Aggregated": EndpointResult(ok, failed, hist)}, errors={},
                      workers_reported=1, window_s=(0, duration_s))


def test_little_law_ratio_counts_the_same_requests_in_x_and_r_when_failures_are_many():
    # 10 users spend the whole second on 1000 successful 10 ms requests; 1000 failures answered at once
    # (refused) cost them no time. X and R over the successful requests: 1000/s × 10 ms = 10 users.
    fast_failures = _load_result(ok=1000, failed=1000, ok_latency_us=10_000)
    assert little_law_ratio(10, fast_failures) == pytest.approx(1.0, abs=0.01)
    # Half the users' time goes to 5 failed requests of 1 s each (timeouts), which are not timed: only
    # 500 × 10 ms = 5 user-seconds of the 10 are accounted for, and the check says so (ratio 0.5).
    slow_failures = _load_result(ok=500, failed=5, ok_latency_us=10_000)
    assert little_law_ratio(10, slow_failures) == pytest.approx(0.5, abs=0.001)
    # With think time Z, users pause after every request, failed or not: over 10 s, 1000 × 10 ms in
    # successful requests plus 2000 × 90 ms of pauses = 190 user-seconds, 19 users.
    with_think = _load_result(ok=1000, failed=1000, ok_latency_us=10_000, duration_s=10.0)
    assert little_law_ratio(19, with_think, think_s=0.09) == pytest.approx(1.0, abs=0.01)


# Held connections count requests stalled at the window's end as not answered (issue 10, item 4).


def held_metrics(rows):
    """rows: (users, ok, failed, pending, rss_mb), each step's figures as the load kind records them."""
    out = []
    for users, ok, failed, pending, rss in rows:
        step = f"users={users}"
        out += [make("error_rate", failed / (ok + failed), "ratio", step), make("server_rss_mb", rss, "MB", step)]
        out += [make(name, value, unit, step) for name, (value, unit) in answered_figures(ok, failed, pending).items()]
    return out


def test_requests_pending_at_the_window_end_make_a_step_fail_the_held_threshold():
    # At 2000 users no request failed (error rate 0), but 2% were still waiting when the window ended.
    rows = [(500, 1000, 0, 0, 60), (1000, 2000, 0, 5, 70), (2000, 2940, 0, 60, 90), (4000, 5000, 0, 0, 130)]
    figures = by_name(connection_figures(held_metrics(rows), 0.99, make))
    assert figures["connections_held"] == 1000


def test_answered_share_counts_failed_and_pending_as_not_answered():
    figures = answered_figures(ok=97, failed=2, pending=1)
    assert figures["answered_ratio"] == (pytest.approx(0.97), "ratio")
    assert figures["pending_requests"] == (1.0, "count")
    assert answered_figures(ok=0, failed=0, pending=0)["answered_ratio"][0] == 0.0  # nothing answered: not held


def rate_metrics(rows):
    """rows: (offered_rps, achieved_rps, p99_ms, error_rate), one open-model step each."""
    out = []
    for offered, achieved, p99, err in rows:
        step = f"rate={offered}"
        out += [make("offered_rps", offered, "req/s", step), make("achieved_rps", achieved, "req/s", step),
                make("latency_p99_ms", p99, "ms", step), make("error_rate", err, "ratio", step)]
    return out


def test_the_rate_sweep_interpolates_max_rate_slo_between_the_last_pass_and_the_first_fail():
    rows = [(500, 500, 10, 0), (1000, 1000, 30, 0), (1500, 1400, 70, 0), (2000, 1500, 900, 0.2)]
    got = by_name(trial_figures({"rate_slo_p99_ms": 50}, rate_metrics(rows), 0.0, make))
    # p99 crosses 50 ms halfway from 30 to 70 ms; achieved 1400/1500 is 6.7% short, crossing 1% at 1000 +
    # 0.15 · 500: the lower of the two crossings
    assert got["max_rate_slo"] == pytest.approx(1000 + 0.01 / (1 - 1400 / 1500) * 500)
    assert got["max_rate_slo_censored"] == 0 and got["max_rate_slo_upper_bound"] == 0


@pytest.mark.parametrize(("rows", "ceiling", "value", "censored", "upper"), [
    ([(500, 500, 10, 0), (1000, 1000, 20, 0)], None, 1000, 1, 0),  # every step passed: a lower bound
    ([(500, 500, 10, 0), (1000, 1000, 20, 0), (2000, 1990, 30, 0)], 2000, 1000, 1, 0),  # 2000 > 70% of 2000
    ([(500, 500, 80, 0), (1000, 1000, 90, 0)], None, 500, 0, 1),  # the lowest step failed: an upper bound
])  # fmt: skip
def test_a_censored_rate_sweep_is_kept_as_its_bound(rows, ceiling, value, censored, upper):
    settings = {"rate_slo_p99_ms": 50, **({"generator_ceiling_rps": ceiling} if ceiling else {})}
    got = by_name(trial_figures(settings, rate_metrics(rows), 0.0, make))
    assert (got["max_rate_slo"], got["max_rate_slo_censored"], got["max_rate_slo_upper_bound"]) == (value, censored,
                                                                                                      upper)
