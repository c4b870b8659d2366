"""Figures from one measured window: latency from HDR histograms, resources from samples."""

from __future__ import annotations

from dataclasses import dataclass

from hdrh.histogram import HdrHistogram

from harness.flags import SATURATION_PCT  # the flag registry owns the threshold
from harness.loadgen.driver import EndpointResult, LoadResult
from harness.metrics import RPS, unit
from harness.sampler import Reading

PERCENTILES = {"latency_p50_ms": 50.0, "latency_p90_ms": 90.0, "latency_p99_ms": 99.0, "latency_p999_ms": 99.9}


def latency_ms(histogram: HdrHistogram | None) -> dict[str, float]:
    """Percentiles, mean and max in milliseconds (the histogram holds microseconds)."""
    if histogram is None or histogram.get_total_count() == 0:
        return {}
    figures = {name: histogram.get_value_at_percentile(p) / 1000 for name, p in PERCENTILES.items()}
    figures["latency_mean_ms"] = histogram.get_mean_value() / 1000
    figures["latency_max_ms"] = histogram.get_max_value() / 1000
    return figures


def endpoint_figures(endpoint: EndpointResult, duration_s: float) -> dict[str, tuple[float, str]]:
    total = endpoint.ok + endpoint.failed
    figures: dict[str, tuple[float, str]] = {
        RPS: (endpoint.ok / duration_s, unit(RPS)),  # successful responses only
        "requests": (float(total), "count"),
        "error_rate": (endpoint.failed / total if total else 0.0, "ratio"),
    }
    figures.update({name: (value, "ms") for name, value in latency_ms(endpoint.histogram).items()})
    return figures


@dataclass
class ResourceFigures:
    server_cpu_pct: float | None
    server_rss_mb: float | None
    server_rss_peak_mb: float | None
    loadgen_cpu_pct: float | None
    loadgen_busiest_process_pct: float | None  # the most loaded Locust process, mean over the window
    samples: int
    loadgen_cores: int = 0  # the CPUs the load generator was given; 0: not pinned, only the per-process rule applies
    server_cpu_s_per_s: float | None = None  # CPU seconds the server's process tree spent per second of window
    loadgen_cpu_s_per_s: float | None = None

    @property
    def loadgen_saturated(self) -> bool:
        """A Locust process is one gevent thread, so one above SATURATION_PCT of a core delays its own
        requests; and several processes sharing the generator's cores never each reach it, so their
        total against those cores decides too."""
        busiest = self.loadgen_busiest_process_pct is not None and self.loadgen_busiest_process_pct > SATURATION_PCT
        total = (self.loadgen_cores > 0 and self.loadgen_cpu_pct is not None
                 and self.loadgen_cpu_pct > SATURATION_PCT * self.loadgen_cores)
        return busiest or total


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def cpu_s_per_s(readings: list[Reading]) -> float | None:
    """CPU seconds a role's whole process tree spent per wall second between its first and last
    reading: the rise of each process's cumulative utime+stime (a process first seen later counts
    from its first reading). None without two readings holding CPU times."""
    timed = [r for r in readings if r.per_process_cpu_s]
    if len(timed) < 2 or timed[-1].t_s <= timed[0].t_s:
        return None
    first: dict[int, float] = {}
    last: dict[int, float] = {}
    for reading in timed:
        for pid, seconds in reading.per_process_cpu_s.items():
            first.setdefault(pid, seconds)
            last[pid] = seconds
    return sum(last[pid] - first[pid] for pid in last) / (timed[-1].t_s - timed[0].t_s)


def resource_figures(server: list[Reading], loadgen: list[Reading], loadgen_cores: int = 0) -> ResourceFigures:
    per_process: dict[int, list[float]] = {}
    for reading in loadgen:
        for pid, pct in reading.per_process_cpu_pct.items():
            per_process.setdefault(pid, []).append(pct)
    busiest = max((_mean(v) or 0.0 for v in per_process.values()), default=None)
    return ResourceFigures(
        server_cpu_pct=_mean([r.cpu_pct for r in server]),
        server_rss_mb=_mean([r.rss_mb for r in server]),
        server_rss_peak_mb=max((r.rss_mb for r in server), default=None),
        loadgen_cpu_pct=_mean([r.cpu_pct for r in loadgen]),
        loadgen_busiest_process_pct=busiest,
        samples=len(server),
        loadgen_cores=loadgen_cores,
        server_cpu_s_per_s=cpu_s_per_s(server),
        loadgen_cpu_s_per_s=cpu_s_per_s(loadgen),
    )


def cpu_cost_figures(resources: ResourceFigures, responses: int, duration_s: float, server_cores: int,
                     database_cpu_s_per_s: float | None = None, database_shares_cores: bool = False
                     ) -> dict[str, tuple[float, str]]:
    """Per-request CPU cost of each role (CPU µs per response: the tree's CPU rate ÷ the response
    rate), and where the server's cores are not saturated, the estimate of its capacity on them,
    cores × 10^6 ÷ the CPU µs per request spent on them: the rate at which the server would use all
    of them if each request kept costing what it cost at this step's rate (an estimate; it ignores
    the cost of queueing and of batching at higher load). A database on the server's cores spends
    them too, so its CPU per request counts there (without it the estimate of a database-backed
    page overstates the measured max_rate_slo: docs/measurements.md, "The capacity estimate")."""
    if responses == 0 or duration_s <= 0:
        return {}
    rate = responses / duration_s
    figures: dict[str, tuple[float, str]] = {}
    for role, per_s in (("server", resources.server_cpu_s_per_s), ("loadgen", resources.loadgen_cpu_s_per_s),
                        ("database", database_cpu_s_per_s)):
        if per_s is not None:
            figures[f"{role}_cpu_us_per_req"] = (per_s * 1e6 / rate, "us")
    on_cores_s_per_s = (resources.server_cpu_s_per_s or 0.0) + (
        (database_cpu_s_per_s or 0.0) if database_shares_cores else 0.0)
    on_cores_us = on_cores_s_per_s * 1e6 / rate
    saturated = on_cores_s_per_s * 100 > SATURATION_PCT * server_cores
    if server_cores > 0 and figures.get("server_cpu_us_per_req", (0.0, ""))[0] > 0 and not saturated:
        figures["capacity_rps_est"] = (server_cores * 1e6 / on_cores_us, "req/s")
    return figures


def little_law_ratio(users: int, result: LoadResult, think_s: float = 0.0) -> float | None:
    """The share of N closed-loop users' time that the measured window accounts for; 1.0 when the
    interactive response-time law N = X·(R + Z) holds (Little 1961; Jain 1991, ch. 33 "Operational Laws").

    Only successful requests are timed (a failure is counted, not timed: see WindowRecorder.record),
    so X·R is taken over the same requests: X_ok·R_ok. Every completed request, failed or not, is
    followed by the think time Z, so Z is counted after all of them: the ratio is
    (X_ok·R_ok + X_all·Z) / N. What it leaves out is the time users spent in failed requests: a
    large share of slow failures (timeouts) lowers it, rightly, since the latency figures omit that time.

    What it can detect: time outside the timed window of a request, i.e. users not kept busy. A load
    generator too slow to start each user's next request promptly, users not all running during the
    window (a slow ramp), pauses longer than Z, time spent in failed requests; and, above 1, requests
    timed across the window's edges (latency long against the window).
    What it cannot detect: in a closed loop timed at the client, a slow server only raises R and lowers
    X together, so the law holds almost by construction; it says nothing about server speed, nor about
    delay inside the timer (a busy generator reading answers late inflates R and still balances), nor
    about requests a closed loop never sent (coordinated omission). None without successful requests.
    """
    aggregate = result.endpoints.get("Aggregated")
    if aggregate is None or aggregate.histogram is None or aggregate.ok == 0 or users == 0:
        return None
    ok_per_s = aggregate.ok / result.duration_s
    completed_per_s = (aggregate.ok + aggregate.failed) / result.duration_s
    mean_s = aggregate.histogram.get_mean_value() / 1e6
    return (ok_per_s * mean_s + completed_per_s * think_s) / users
