"""Figures from one measured window: latency from HDR histograms, resources from samples."""

from __future__ import annotations

from dataclasses import dataclass

from hdrh.histogram import HdrHistogram

from harness.loadgen.driver import EndpointResult, LoadResult
from harness.sampler import Reading

PERCENTILES = {"latency_p50_ms": 50.0, "latency_p90_ms": 90.0, "latency_p99_ms": 99.0, "latency_p999_ms": 99.9}
SATURATION_PCT = 90.0  # a Locust worker is one gevent thread: above this it delays its own requests


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
        "rps": (endpoint.ok / duration_s, "req/s"),  # successful responses only
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

    @property
    def loadgen_saturated(self) -> bool:
        return self.loadgen_busiest_process_pct is not None and self.loadgen_busiest_process_pct > SATURATION_PCT


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def resource_figures(server: list[Reading], loadgen: list[Reading]) -> ResourceFigures:
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
    )


def little_law_ratio(users: int, result: LoadResult, think_s: float = 0.0) -> float | None:
    """X·(R + Z) / N for a closed load of N users; 1.0 when Little's law holds (Little 1961).

    With think time Z this is the interactive response-time law N = X(R + Z). X counts every
    completed request (ok or failed); R is the mean latency of successful ones.
    """
    aggregate = result.endpoints.get("Aggregated")
    if aggregate is None or aggregate.histogram is None or users == 0:
        return None
    throughput = (aggregate.ok + aggregate.failed) / result.duration_s
    mean_s = aggregate.histogram.get_mean_value() / 1e6
    return throughput * (mean_s + think_s) / users
