"""The registry of metrics: each stored name with its unit and which way is better.

Every reader takes a metric's direction from here: `bench compare` and `bench history` (a change is a
regression only in the bad direction), `bench ab` (its gated figures), the CI formats (bigger or
smaller is better). A metric that is not listed, or whose direction is "none", is reported but never
called a regression. Names are stored in results files as written here: renaming one is a format change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Direction = Literal["higher", "lower", "none"]

RPS = "rps"  # successful responses per second of a load step: the figure most readers start from


@dataclass(frozen=True)
class MetricSpec:
    name: str
    unit: str  # as stored beside each value in results.json
    better: Direction


METRICS: dict[str, MetricSpec] = {m.name: m for m in (
    MetricSpec(RPS, "req/s", "higher"),
    MetricSpec("io_efficiency", "ratio", "higher"),
    MetricSpec("max_concurrency_slo", "users", "higher"),
    MetricSpec("connections_held", "connections", "higher"),
    MetricSpec("knee_users", "users", "higher"),
    MetricSpec("usl_peak_users", "users", "higher"),
    MetricSpec("error_rate", "ratio", "lower"),
    MetricSpec("cold_start_ms", "ms", "lower"),
    MetricSpec("listen_ms", "ms", "lower"),
    MetricSpec("memory_per_connection_kb", "kB", "lower"),
    MetricSpec("server_rss_mb", "MB", "lower"),
    MetricSpec("server_rss_peak_mb", "MB", "lower"),
    # The server's CPU time per response: a neighbour stealing the core lowers rps a lot but this
    # little, so it carries a small slowdown through a noisy machine best.
    MetricSpec("server_cpu_us_per_req", "us", "lower"),
    # Reported, never a regression:
    MetricSpec("latency_max_ms", "ms", "none"),  # one request's outlier: a scheduling hiccup moves it, not the code
    MetricSpec("requests", "count", "none"),  # rps × duration: judging both would count one change twice
    MetricSpec("rps_ideal", "req/s", "none"),  # computed from the scenario's parameters, not measured
    MetricSpec("server_cpu_pct", "%", "none"),  # a saturated server is busy either way: neither good nor bad
    MetricSpec("loadgen_cpu_pct", "%", "none"),
    MetricSpec("sampler_cpu_pct", "%", "none"),
    MetricSpec("little_law_ratio", "ratio", "none"),  # a consistency check of the measurement, not of the server
    MetricSpec("usl_r2", "ratio", "none"),
    MetricSpec("rss_cv", "ratio", "none"),
    MetricSpec("rss_slope_mb_per_min", "MB/min", "none"),  # near 0, of either sign: a percent change means nothing
)}
# A family of names sharing one direction (latency_p50_ms, latency_p99_ms, …), after the exact names above.
PREFIX_DIRECTIONS: tuple[tuple[str, Direction], ...] = (
    ("latency_", "lower"),
    ("rss_", "lower"),
    ("uss_", "lower"),
    ("pss_", "lower"),
)
LATENCY_UNIT = "ms"  # every latency_* figure

# What `bench ab` gates on, in the order its reports list them: what a user feels (rps, p99 latency)
# and what a change of the code costs the server (CPU per response).
GATED = (RPS, "latency_p99_ms", "server_cpu_us_per_req")


def direction(metric: str) -> Direction:
    """"higher" or "lower" is better, or "none" (reported only), for a metric name."""
    if metric in METRICS:
        return METRICS[metric].better
    return next((better for prefix, better in PREFIX_DIRECTIONS if metric.startswith(prefix)), "none")


def unit(metric: str) -> str:
    """The unit stored beside a listed metric (or any latency_*), "" for another."""
    if metric in METRICS:
        return METRICS[metric].unit
    return LATENCY_UNIT if metric.startswith("latency_") else ""
