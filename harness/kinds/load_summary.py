"""Per-trial figures computed across a load trial's steps, chosen by a profile's `summary` settings.

  slo_p99_ms: L          max_concurrency_slo, slo_crossing_users (+ its _censored flag), knee_users,
                         usl_peak_users, usl_r2
  held_success: S        connections_held, memory_per_connection_kb (held connections)
  ideal_delay_param: P   rps_ideal and io_efficiency per step, from the step's delay parameter P in ms
  memory_series: true    rss_peak_mb, rss_slope_mb_per_min, rss_cv over the measured window
  delivery_slo_p99_ms: L the realtime scenario's figures, max_clients_slo (harness.kinds.realtime_summary)
  rate_slo_p99_ms: L     open-model sweep: max_rate_slo (+ _censored: a lower bound; + _upper_bound: the
                         lowest step failed), by harness.rate_sweep's rule; generator_ceiling_rps: C
                         (optional) applies its headroom guard
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from harness.kinds.realtime_summary import realtime_figures
from harness.metrics import RPS
from harness.rate_sweep import RateStep, max_rate_slo
from harness.results import Metric, Sample, SampleRow, is_endpoint_step, step_params
from harness.stats import knee_point, linear_slope, max_under_slo, slo_crossing, usl_fit

MetricFactory = Callable[[str, float, str, str], Metric]


def _by_step(metrics: list[Metric], name: str) -> dict[str, float]:
    """step label -> value of one aggregate metric (per-endpoint rows left out)."""
    return {m.step: m.value for m in metrics if m.metric == name and not is_endpoint_step(m.step)}


def _users_series(metrics: list[Metric], *names: str) -> tuple[list[float], list[list[float]]]:
    series = [_by_step(metrics, name) for name in names]
    steps = sorted(set.intersection(*(set(s) for s in series)), key=lambda s: float(step_params(s)["users"]))
    users = [float(step_params(s)["users"]) for s in steps]
    return users, [[s[step] for step in steps] for s in series]


def concurrency_figures(metrics: list[Metric], slo_p99_ms: float, make: MetricFactory) -> list[Metric]:
    users, (p99, errors, rps) = _users_series(metrics, "latency_p99_ms", "error_rate", RPS)
    if not users:
        return []
    out = []
    best = max_under_slo(users, p99, errors, slo_p99_ms)
    # 0 users held means even the lowest step missed the SLO; the row still says so in numbers.
    out.append(make("max_concurrency_slo", best or 0.0, "users", ""))
    crossing = slo_crossing(users, p99, errors, slo_p99_ms)
    if crossing is not None:
        # A trial that passes every step is kept, censored: its value is the top step, a lower bound
        # (dropping it would bias the median across trials low). See harness/results.py.
        out.append(make("slo_crossing_users", crossing.users, "users", ""))
        out.append(make("slo_crossing_users_censored", float(crossing.censored), "bool", ""))
    knee = knee_point(users, rps)
    if knee is not None:
        out.append(make("knee_users", knee, "users", ""))
    fit = usl_fit(users, rps)
    if fit is not None and math.isfinite(fit.n_peak):
        out.append(make("usl_peak_users", fit.n_peak, "users", ""))
    if fit is not None:
        out.append(make("usl_r2", fit.r2, "ratio", ""))
    return out


def connection_figures(metrics: list[Metric], held_success: float, make: MetricFactory) -> list[Metric]:
    """connections_held: the highest step whose share answered (`answered_figures`), and every lower
    step's, is at least `held_success`; memory_per_connection_kb: the slope of RSS over connections."""
    shares, rss = _answered_shares(metrics), _by_step(metrics, "server_rss_mb")
    steps = sorted(set(shares) & set(rss), key=lambda s: float(step_params(s)["users"]))
    if not steps:
        return []
    users = [float(step_params(s)["users"]) for s in steps]
    held = 0.0
    for n, step in zip(users, steps, strict=True):
        if shares[step] < held_success:
            break
        held = n
    out = [make("connections_held", held, "connections", "")]
    if len(users) >= 2:
        slope_mb, _ = linear_slope(users, [rss[s] for s in steps])
        out.append(make("memory_per_connection_kb", slope_mb * 1000, "kB", ""))
    return out


def _answered_shares(metrics: list[Metric]) -> dict[str, float]:
    """step label -> share of requests answered; for steps recorded before answered_ratio existed,
    1 - error_rate (blind to requests stalled at the window's end)."""
    answered = _by_step(metrics, "answered_ratio")
    return {step: answered.get(step, 1 - error_rate) for step, error_rate in _by_step(metrics, "error_rate").items()}


def answered_figures(ok: int, failed: int, pending: int) -> dict[str, tuple[float, str]]:
    """One step's share of requests answered, counting failed requests and those stalled at the
    window's end (`pending`: sent, unanswered, see harness.loadgen.window) as not answered.

    A step with no request at all answered none: 0, so it never counts as held.
    """
    total = ok + failed + pending
    return {
        "pending_requests": (float(pending), "count"),
        "answered_ratio": (ok / total if total else 0.0, "ratio"),
    }


def io_figures(metrics: list[Metric], delay_param: str, think_s: float, make: MetricFactory) -> list[Metric]:
    out = []
    for step, rps in _by_step(metrics, RPS).items():
        params = step_params(step)
        delay_s = float(params[delay_param]) / 1000
        ideal = float(params["users"]) / (delay_s + think_s) if delay_s + think_s > 0 else math.inf
        out.append(make("rps_ideal", ideal, "req/s", step))
        out.append(make("io_efficiency", rps / ideal if math.isfinite(ideal) else 0.0, "ratio", step))
    return out


def memory_figures(samples: Sequence[Sample | SampleRow], step: str, make: MetricFactory) -> list[Metric]:
    """RSS over the measured window (t_s ≥ 0) of one step's server samples."""
    window = [s for s in samples if s.role == "server" and s.step == step and s.t_s >= 0]
    if len(window) < 3:
        return []
    rss = np.array([s.rss_mb for s in window])
    minutes = [s.t_s / 60 for s in window]
    slope, _ = linear_slope(minutes, rss.tolist())
    cv = float(np.std(rss, ddof=1) / np.mean(rss)) if np.mean(rss) else 0.0
    return [
        make("rss_peak_mb", float(rss.max()), "MB", step),
        make("rss_slope_mb_per_min", slope, "MB/min", step),
        make("rss_cv", cv, "ratio", step),
    ]


def rate_figures(metrics: list[Metric], slo_p99_ms: float, ceiling_rps: float | None, make: MetricFactory
                 ) -> list[Metric]:
    """max_rate_slo over the trial's open-model steps (harness.rate_sweep states the rule). A censored
    value is a bound, kept rather than dropped (as slo_crossing_users is): "_censored" marks a lower
    bound (every usable step passed), "_upper_bound" a value the lowest step already failed."""
    offered, achieved = _by_step(metrics, "offered_rps"), _by_step(metrics, "achieved_rps")
    p99, errors = _by_step(metrics, "latency_p99_ms"), _by_step(metrics, "error_rate")
    steps = [RateStep(offered[s], achieved.get(s, 0.0), p99.get(s, math.nan), errors.get(s, 0.0))
             for s in offered if offered[s] > 0]  # fmt: skip
    if not steps:
        return []
    verdict = max_rate_slo(steps, slo_p99_ms, ceiling_rps)
    if verdict.max_rate_slo_rps is None:
        return []
    lower_bound = verdict.outcome in ("above_top_step", "above_generator_bound")
    return [make("max_rate_slo", verdict.max_rate_slo_rps, "req/s", ""),
            make("max_rate_slo_censored", float(lower_bound), "bool", ""),
            make("max_rate_slo_upper_bound", float(verdict.outcome == "below_lowest_step"), "bool", "")]


def trial_figures(settings: dict[str, Any], metrics: list[Metric], think_s: float, make: MetricFactory
                  ) -> list[Metric]:
    out: list[Metric] = []
    if "slo_p99_ms" in settings:
        out += concurrency_figures(metrics, float(settings["slo_p99_ms"]), make)
    if "held_success" in settings:
        out += connection_figures(metrics, float(settings["held_success"]), make)
    if "ideal_delay_param" in settings:
        out += io_figures(metrics, str(settings["ideal_delay_param"]), think_s, make)
    if "delivery_slo_p99_ms" in settings:
        out += realtime_figures(metrics, float(settings["delivery_slo_p99_ms"]), make)
    if "rate_slo_p99_ms" in settings:
        ceiling = settings.get("generator_ceiling_rps")
        out += rate_figures(metrics, float(settings["rate_slo_p99_ms"]), None if ceiling is None else float(ceiling),
                            make)
    return out
