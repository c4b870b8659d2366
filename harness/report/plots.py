"""The report's figures: one small function per plot, picked from a registry, each reading a stored run.

Every plot shows both targets in the same colours, with units on its axes; a plot whose scenario
is not in the run raises Skip, and the report says so instead of drawing an empty frame.
Figures are drawn with matplotlib's Agg backend (no display needed).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from hdrh.histogram import HdrHistogram
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from harness.claims import ClaimVerdict, RangeCheck
from harness.claims import Figure as Measured
from harness.claims.schema import RatioCheck
from harness.metrics import RPS
from harness.report.axes import (
    VERDICT_COLORS,
    auto_log_y,
    color,
    error_bars,
    flagged,
    marker,
    new_figure,
    save_png,
    sweep,
    users_axis,
)
from harness.report.data import RunData, Skip


def plot_concurrency(data: RunData) -> Figure:
    data.require("concurrency")
    fig, (left, right) = new_figure(2, "Concurrency sweep: GET /json, zero think time")
    sweep(left, data, "concurrency", RPS, "throughput (successful requests/s")
    left.set_title("Throughput vs concurrency (median and CI; coverage in the tables)")
    sweep(right, data, "concurrency", "latency_p99_ms", "p99 latency (ms")
    right.set_title("p99 latency vs concurrency")
    slo_lines(right, data, "concurrency", "slo_p99_ms", "max_concurrency_slo", "users", "g")
    left.legend()
    right.legend()
    return fig


def slo_lines(ax: Axes, data: RunData, scenario: str, slo_param: str, held_metric: str, what: str,
              number_format: str) -> None:
    """The scenario's p99 SLO as a horizontal line, and each target's largest load under it as a vertical one."""
    slo = data.results.config.get("scenario_params", {}).get(scenario, {}).get("summary", {}).get(slo_param)
    if slo:
        ax.axhline(float(slo), color="crimson", linestyle="--", label=f"SLO: p99 < {slo} ms")
    for target in data.targets():
        held = data.summary(target, scenario, "", held_metric)
        if held and held.median > 0:
            ax.axvline(held.median, color=color(target, data.targets()), linestyle=":", alpha=0.8,
                       label=f"{target}: max {what} under SLO = {held.median:{number_format}}")


def plot_realtime(data: RunData) -> Figure:
    """Delivery p99 against WebSocket clients, with the SLO and each target's max_clients_slo; and the
    server's CPU time per copy sent."""
    data.require("realtime")
    fig, (left, right) = new_figure(2, "Real-time fan-out: WebSocket chat rooms")
    sweep(left, data, "realtime", "delivery_p99_ms", "delivery p99 latency (ms", "WebSocket clients")
    left.set_title("Delivery p99 vs clients (median and CI; coverage in the tables)")
    slo_lines(left, data, "realtime", "delivery_slo_p99_ms", "max_clients_slo", "clients", ".0f")
    sweep(right, data, "realtime", "server_cpu_us_per_delivery", "server CPU per copy sent (µs", "WebSocket clients")
    right.set_title("Server CPU time per copy sent")
    left.legend()
    right.legend()
    return fig


LATENCY_SCENARIOS = ["throughput", "crud", "cpu", "io", "concurrency", "memory"]
PERCENTILES = [("latency_p50_ms", 50.0), ("latency_p90_ms", 90.0), ("latency_p99_ms", 99.0),
               ("latency_p999_ms", 99.9)]


def _nines(p: float) -> float:
    """Percentile on a 'nines' axis: p50 → 0.3, p90 → 1, p99 → 2, p99.9 → 3 (as HdrHistogram's plots)."""
    return -math.log10(1 - p / 100)


def plot_latency_percentiles(data: RunData) -> Figure:
    scenarios = [s for s in LATENCY_SCENARIOS if s in data.scenarios()]
    if not scenarios:
        raise Skip("no load scenario in this run")
    ncols = min(3, len(scenarios))
    nrows = math.ceil(len(scenarios) / ncols)
    fig, grid = plt.subplots(nrows, ncols, figsize=(4.0 * ncols + 1, 3.4 * nrows + 0.6), layout="constrained",
                             squeeze=False)
    fig.suptitle("Latency percentiles at each scenario's highest step (HDR histograms, µs resolution)",
                 fontsize=12, fontweight="bold")
    for ax, scenario in zip(grid.flat, scenarios, strict=False):
        _percentile_panel(ax, data, scenario)
    for ax in list(grid.flat)[len(scenarios):]:
        ax.set_visible(False)
    return fig


def _percentile_panel(ax: Axes, data: RunData, scenario: str) -> None:
    try:
        step = data.top_step(scenario, "latency_p99_ms")
    except Skip:
        ax.text(0.5, 0.5, "no latency recorded", ha="center", transform=ax.transAxes)
        return
    values: list[float] = []
    for target in data.targets():
        hist = data.merged_histogram(target, scenario, step)
        if hist is not None and hist.get_total_count() > 0:
            values += _hdr_curve(ax, hist, target, data.targets())
            continue
        points = [(_nines(p), s) for metric, p in PERCENTILES
                  if (s := data.summary(target, scenario, step, metric)) is not None]
        if points:
            xs, ss = [x for x, _ in points], [s for _, s in points]
            ax.errorbar(xs, [s.median for s in ss], yerr=error_bars(ss), marker=marker(target), capsize=3, label=target,
                        color=color(target, data.targets()))
            values += [s.median for s in ss]
    ax.set_xticks([_nines(p) for p in (50, 90, 99, 99.9, 99.99)], ["p50", "p90", "p99", "p99.9", "p99.99"])
    auto_log_y(ax, values, "latency (ms")
    ax.set_xlabel("percentile")
    ax.set_title(f"{scenario} ({step})")
    ax.legend()


CURVE_PERCENTILES = [p for p in (0, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99) if p < 100]


def _hdr_curve(ax: Axes, hist: HdrHistogram, target: str, targets: list[str]) -> list[float]:
    """The full percentile curve of a histogram stored by the run (all trials merged)."""
    count = hist.get_total_count()
    # Percentiles beyond what the sample can resolve (1/count) would only repeat the maximum.
    percentiles = [p for p in CURVE_PERCENTILES if p == 0 or 100 - p >= 100 / count]
    ms = [hist.get_value_at_percentile(p) / 1000 for p in percentiles]
    ax.plot([_nines(p) for p in percentiles], ms, marker=marker(target), markersize=3, label=f"{target} (HDR)",
            color=color(target, targets))
    return ms


def _article_ranges(data: RunData, scenario: str, metric: str) -> dict[str, tuple[float, float, str]]:
    """target -> (min, max, claim id) of the claims file's range checks on this figure."""
    found = {}
    for verdict in data.verdicts:
        for check in verdict.claim.checks:
            if isinstance(check, RangeCheck) and (check.scenario, check.metric) == (scenario, metric):
                lo = check.min if check.min is not None else 0.0
                hi = check.max if check.max is not None else math.inf
                found[check.target] = (lo, hi, verdict.claim.id)
    return found


def _strip(ax: Axes, data: RunData, scenario: str, metric: str, unit: str) -> None:
    """Each trial's value as a dot, the median as a bar with its CI, the article's range shaded."""
    targets = [t for t in data.targets() if data.values(t, scenario, metric)]
    ranges = _article_ranges(data, scenario, metric)
    top = _top(data, scenario, metric, targets, ranges)
    rng = np.random.default_rng(0)  # fixed jitter: the same run always draws the same picture
    for i, target in enumerate(targets):
        c = color(target, data.targets())
        values = data.values(target, scenario, metric)
        ax.scatter(i + rng.uniform(-0.12, 0.12, len(values)), values, color=c, alpha=0.6, s=22)
        s = data.summary(target, scenario, "", metric)
        if s:
            ax.errorbar([i + 0.3], [s.median], yerr=error_bars([s]), color=c, marker="_", markersize=18, capsize=4)
        if target in ranges:
            lo, hi, claim = ranges[target]
            ax.fill_between([i - 0.4, i + 0.4], lo, min(hi, top), color=c, alpha=0.12)
            ax.text(i - 0.38, lo, f"article ({claim}): {lo:g}–{hi:g} {unit}", fontsize=8, va="bottom", color=c)
    ax.set_xticks(range(len(targets)), targets)
    ax.set_xlim(-0.6, len(targets) - 0.4)
    ax.set_ylim(0, top)


def _top(data: RunData, scenario: str, metric: str, targets: list[str],
         ranges: dict[str, tuple[float, float, str]]) -> float:
    """The y-axis top: room for every value and every finite bound of the article's ranges."""
    values = [v for t in targets for v in data.values(t, scenario, metric)]
    bounds = [b for lo, hi, _ in ranges.values() for b in (lo, hi) if math.isfinite(b)]
    return max(values + bounds, default=1.0) * 1.12


@dataclass(frozen=True)
class Strip:
    """One panel of trials as dots (see _strip): a cold_start figure, its axis label and title."""

    metric: str
    unit: str
    ylabel: str
    title: str


def _strips(data: RunData, title: str, panels: tuple[Strip, Strip]) -> Figure:
    data.require("cold_start")
    fig, axes = new_figure(2, title)
    for ax, panel in zip(axes, panels, strict=True):
        _strip(ax, data, "cold_start", panel.metric, panel.unit)
        ax.set_ylabel(panel.ylabel)
        ax.set_title(panel.title)
    return fig


def plot_cold_start(data: RunData) -> Figure:
    return _strips(data, "Cold start: a fresh server process per trial", (
        Strip("cold_start_ms", "ms", "spawn → first correct /health answer (ms)",
              "Start time per trial (dots), median and its CI (bar; coverage in the tables)"),
        Strip("listen_ms", "ms", "spawn → port accepting connections (ms)", "Time to listen")))


def plot_idle_memory(data: RunData) -> Figure:
    settle_s = data.results.config.get("scenario_params", {}).get("cold_start", {}).get("settle_s", "?")
    return _strips(data, f"Idle memory: RSS of the whole server process tree, {settle_s} s after start", (
        Strip("rss_idle_mb", "MB", "RSS (MB = 10⁶ bytes)", "Read as MB (10⁶ bytes)"),
        Strip("rss_idle_mib", "MiB", "RSS (MiB = 2²⁰ bytes)", "Read as MiB (2²⁰ bytes)")))


def plot_memory_over_time(data: RunData) -> Figure:
    data.require("memory")
    rows = data.samples[(data.samples["scenario"] == "memory") & (data.samples["role"] == "server")]
    if rows.empty:
        raise Skip("no server samples of the memory scenario in samples.csv")
    fig, (ax,) = new_figure(1, "RSS over time under sustained load (memory scenario)", width=10.0)
    for (target, trial, step), group in rows.groupby(["target", "trial", "step"], sort=True):
        ax.plot(group["t_s"], group["rss_mb"], color=color(str(target), data.targets()), alpha=0.85,
                label=_memory_label(data, str(target), int(trial), str(step)))
    ax.axvspan(min(rows["t_s"].min(), 0), 0, color="gray", alpha=0.15, label="warm-up (not measured)")
    ax.set_xlabel("time since the measured window began (s)")
    ax.set_ylabel("server RSS (MB = 10⁶ bytes)")
    ax.legend(loc="best")
    return fig


def _memory_label(data: RunData, target: str, trial: int, step: str) -> str:
    figures = {key.metric: data.view.by_trial(key)[trial] for key in data.view.figure_keys()
               if (key.target, key.scenario, key.step) == (target, "memory", step) and trial in data.view.by_trial(key)}
    label = f"{target} trial {trial} ({step})"
    if "rss_cv" in figures and "rss_slope_mb_per_min" in figures:
        label += f": CV {figures['rss_cv']:.1%}, drift {figures['rss_slope_mb_per_min']:+.2f} MB/min"
    return label


def plot_connections(data: RunData) -> Figure:
    data.require("connections")
    fig, (left, right) = new_figure(2, "Held keep-alive connections (mostly idle users)")
    sweep(left, data, "connections", "server_rss_mb", "server RSS (MB = 10⁶ bytes", "open connections")
    left.set_title("Memory vs connections held")
    for target in data.targets():
        per_conn = data.summary(target, "connections", "", "memory_per_connection_kb")
        if per_conn:
            left.plot([], [], " ", label=f"{target}: {per_conn.median:.1f} kB per connection (slope)")
    left.legend()
    _answered_panel(right, data)
    return fig


def _answered_panel(ax: Axes, data: RunData) -> None:
    users: list[float] = []
    for target in data.targets():
        # The share connections_held is judged on; runs recorded before it existed: 1 - error_rate.
        shares = [(u, 100 * s.median) for u, s in data.by_users(target, "connections", "answered_ratio")] or [
            (u, 100 * (1 - s.median)) for u, s in data.by_users(target, "connections", "error_rate")]
        if shares:
            ax.plot([u for u, _ in shares], [share for _, share in shares], marker=marker(target),
                    color=color(target, data.targets()), label=target, alpha=0.8)
            users += [u for u, _ in shares]
    held = data.results.config.get("scenario_params", {}).get("connections", {}).get("summary", {})
    if "held_success" in held:
        ax.axhline(100 * float(held["held_success"]), color="crimson", linestyle="--",
                   label=f"held: ≥ {float(held['held_success']):.0%} answered")
    users_axis(ax, users, "open connections")
    ax.set_ylim(min(ax.get_ylim()[0], 95), 100.5)
    ax.set_ylabel("requests answered (%)")
    ax.set_title("Share of requests answered")
    ax.legend()


WORKLOADS = [("throughput", "GET /json"), ("crud", "CRUD mix"), ("cpu", "CPU-bound /cpu"), ("io", "I/O-bound /io")]


def plot_throughput_by_workload(data: RunData) -> Figure:
    present = [(s, label) for s, label in WORKLOADS if s in data.scenarios()]
    if not present:
        raise Skip("none of the throughput, crud, cpu, io scenarios is in this run")
    fig, (left, right) = new_figure(2, "Throughput by workload, Express/FastAPI ratio above each group")
    _workload_bars(left, data, present)
    if "io" in data.scenarios():
        _io_panel(right, data)
    else:
        right.text(0.5, 0.5, "the io scenario is not in this run", ha="center", transform=right.transAxes)
    return fig


def _workload_bars(ax: Axes, data: RunData, present: list[tuple[str, str]]) -> None:
    targets = data.targets()
    width = 0.8 / len(targets)
    labels = []
    for i, (scenario, label) in enumerate(present):
        step = data.top_step(scenario)
        labels.append(f"{label}\n({step})")
        medians = {}
        for j, target in enumerate(targets):
            s = data.summary(target, scenario, step, RPS)
            if s:
                medians[target] = s.median
                ax.bar(i - 0.4 + width * (j + 0.5), s.median, width, yerr=error_bars([s]), capsize=3,
                       color=color(target, targets), label=target if i == 0 else None,
                       hatch="//" if flagged(s) else None, edgecolor="black" if flagged(s) else None)
        if medians.get("express") and medians.get("fastapi"):
            ax.annotate(f"{medians['express'] / medians['fastapi']:.2f}×", (i, max(medians.values())),
                        xytext=(0, 8), textcoords="offset points", ha="center", fontsize=9, fontweight="bold")
    ax.set_xticks(range(len(present)), labels, fontsize=8)
    ax.set_ylabel("throughput (successful requests/s)")
    ax.set_title("Median requests/s and CI; hatched = flagged")
    ax.set_ylim(0, ax.get_ylim()[1] * 1.1)
    ax.legend()


def _io_panel(ax: Axes, data: RunData) -> None:
    delays = sorted({ms for key in data.view.figure_keys(endpoints=False)
                     if key.scenario == "io" and isinstance(ms := key.step.params.get("ms"), float)})
    for ms in delays:
        users = sorted({u for t in data.targets() for u, _ in data.by_users(t, "io", RPS, ms=ms)})
        ax.plot(users, [u / (ms / 1000) for u in users], color="gray", linestyle="--", marker="_", markersize=16,
                label=f"ideal: users ÷ {ms:g} ms (no server overhead)")
        sweep(ax, data, "io", RPS, "throughput (successful requests/s", ms=ms)
    ax.set_title("I/O-bound: GET /io waits without blocking")
    ax.legend()


def plot_claims_overview(data: RunData) -> Figure:
    if not data.verdicts:
        raise Skip("no claims were judged")
    rows = len(data.verdicts)
    # half a page wide, a third of an inch a row: it shares the report's first screen with the ratios' plot
    fig, ax = plt.subplots(figsize=(HALF_WIDTH_IN, 0.32 * rows + 0.9), layout="constrained")
    fig.suptitle("The article's claims on this run", fontsize=12, fontweight="bold")
    ax.set_xlim(0, 1)
    ax.set_ylim(rows, 0)
    ax.axis("off")
    for i, v in enumerate(data.verdicts):
        ax.text(0.0, i + 0.5, v.claim.id, va="center", fontweight="bold")
        ax.text(0.2, i + 0.5, v.verdict, va="center", ha="center", color="white", fontweight="bold", fontsize=9,
                bbox={"boxstyle": "round,pad=0.3", "facecolor": VERDICT_COLORS[v.verdict], "edgecolor": "none"})
        ax.text(0.35, i + 0.5, textwrap.shorten(v.claim.claim, 62, placeholder="…"), va="center", fontsize=8.5)
    counts = {k: sum(v.verdict == k for v in data.verdicts) for k in VERDICT_COLORS}
    fig.text(0.01, 0.005, " · ".join(f"{n} {k}" for k, n in counts.items() if n), fontsize=8.5, color="dimgray")
    return fig


HALF_WIDTH_IN = 6.2  # two such figures side by side fill report.html's width (harness.report.html)


@dataclass(frozen=True)
class RatioRow:
    """One ratio check of a claim: the claim's band, and the ratio the run measured (None: not measured)."""

    label: str  # the claim's id and where the ratio was read: "P2 crud users=4 rps"
    low: float  # the band; 0 and inf where the claim gives no bound
    high: float
    figure: Measured | None
    verdict: str  # the check's own verdict


def ratio_rows(verdicts: list[ClaimVerdict]) -> list[RatioRow]:
    """Every ratio check of every claim, in the claims file's order."""
    rows = []
    for v in verdicts:
        for check, outcome in zip(v.claim.checks, v.outcomes, strict=True):
            if isinstance(check, RatioCheck):
                figure = outcome.figures[0] if outcome.figures else None
                rows.append(RatioRow(f"{v.claim.id} {check.scenario}\n{check.metric}", check.min or 0.0,
                                     math.inf if check.max is None else check.max, figure, outcome.verdict))
    return rows


def plot_ratio_forest(data: RunData) -> Figure:
    """A forest plot: each ratio check's Express/FastAPI ratio (the median of per-round ratios) and its
    interval, against the band the claim states; a log axis, so that 2× and ½× lie as far from 1."""
    rows = ratio_rows(data.verdicts)
    if not any(r.figure for r in rows):
        raise Skip("no ratio of a claim was measured in this run")
    fig, ax = plt.subplots(figsize=(HALF_WIDTH_IN, 0.42 * len(rows) + 1.3), layout="constrained")
    fig.suptitle("Every ratio, Express/FastAPI, against the claim's band", fontsize=12, fontweight="bold")
    left, right = _forest_limits(rows)
    for i, row in enumerate(rows):
        _forest_row(ax, i, row, left, right)
    ax.axvline(1.0, color="black", linewidth=0.8, linestyle="--")
    ax.set_xscale("log")
    ax.set_xlim(left, right)
    ticks = [t for t in RATIO_TICKS if left <= t <= right]
    ax.set_xticks(ticks, [f"{t:g}×" for t in ticks])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_yticks(range(len(rows)), [r.label for r in rows], fontsize=8)
    ax.set_xlabel("median of per-round ratios and its interval (log scale);\n"
                  "shaded: the claim's band; dashed: equal", fontsize=9)
    ax.grid(axis="y", visible=False)
    return fig


RATIO_TICKS = (0.1, 0.2, 0.25, 0.33, 0.5, 0.67, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 10.0)


def _forest_limits(rows: list[RatioRow]) -> tuple[float, float]:
    """The x range: 1, every finite band edge, every measured value and interval end, with a margin."""
    ends = [1.0] + [b for r in rows for b in (r.low, r.high) if 0 < b < math.inf]
    ends += [x for r in rows if r.figure for x in (r.figure.value, r.figure.low, r.figure.high)
             if x is not None and 0 < x < math.inf]
    return min(ends) / 1.3, max(ends) * 1.3


def _forest_row(ax: Axes, i: int, row: RatioRow, left: float, right: float) -> None:
    ax.fill_betweenx([i - 0.38, i + 0.38], max(row.low, left), min(row.high, right), color="gray", alpha=0.2,
                     linewidth=0)
    f = row.figure
    if f is None or math.isnan(f.value):
        ax.text(left, i, f" {row.verdict}", va="center", fontsize=8, color="dimgray")
        return
    c = VERDICT_COLORS.get(row.verdict, "black")
    if f.has_interval:
        assert f.low is not None and f.high is not None
        low, high = max(f.low, left), min(f.high, right)  # an open end runs to the axis' edge
        ax.plot([low, high], [i, i], color=c, linewidth=2.2, solid_capstyle="butt")
    x = min(max(f.value, left), right)
    ax.plot([x], [i], marker="o", color=c, markersize=6)
    ax.annotate(_forest_words(f), (x, i), xytext=(0, 5), textcoords="offset points", ha="center", va="bottom",
                fontsize=7.5, color=c)


def _forest_words(f: Measured) -> str:
    """"0.659×", "> 1.2×", "1× (1 round, no CI)": the value above its point; its interval is in the tables."""
    bound = f"{f.bound} " if f.bound and f.bound != "?" else ""
    return f"{bound}{f.value:.3g}×" + ("" if f.has_interval else f" ({f.count_text}, no CI)")


@dataclass(frozen=True)
class PlotSpec:
    name: str  # the file stem under plots/
    title: str
    draw: Callable[[RunData], Figure]
    shows: tuple[tuple[str, str], ...]  # (scenario, metric) pairs: a claim on one of these gets this figure


PLOTS = [
    PlotSpec("claims_overview", "Claims overview", plot_claims_overview, ()),
    PlotSpec("ratio_forest", "Every ratio against the claim's band", plot_ratio_forest, ()),
    PlotSpec("concurrency", "Throughput and p99 latency vs concurrency", plot_concurrency,
             (("concurrency", RPS), ("concurrency", "latency_p99_ms"), ("concurrency", "max_concurrency_slo"))),
    PlotSpec("realtime", "Delivery latency vs WebSocket clients", plot_realtime,
             (("realtime", "max_clients_slo"), ("realtime", "delivery_p99_ms"),
              ("realtime", "server_cpu_us_per_delivery"), ("realtime", "messages_delivered_per_s"))),
    PlotSpec("connections", "Held connections vs memory", plot_connections,
             (("connections", "connections_held"), ("connections", "memory_per_connection_kb"))),
    PlotSpec("latency_percentiles", "Latency percentile curves", plot_latency_percentiles, ()),
    PlotSpec("cold_start", "Cold-start distribution", plot_cold_start,
             (("cold_start", "cold_start_ms"), ("cold_start", "listen_ms"))),
    PlotSpec("idle_memory", "Idle memory, MB and MiB", plot_idle_memory,
             (("cold_start", "rss_idle_mb"), ("cold_start", "rss_idle_mib"))),
    PlotSpec("memory_over_time", "RSS over time under load", plot_memory_over_time,
             (("memory", "rss_cv"), ("memory", "rss_slope_mb_per_min"), ("memory", "rss_peak_mb"))),
    PlotSpec("throughput_by_workload", "CPU-bound and I/O-bound throughput", plot_throughput_by_workload,
             (("throughput", RPS), ("crud", RPS), ("cpu", RPS), ("io", RPS), ("io", "io_efficiency"))),
]


def render(spec: PlotSpec, data: RunData, directory: Path) -> Path:
    """Draw one plot into directory/<name>.png; raises Skip when the run lacks its data."""
    fig = spec.draw(data)
    try:
        path = directory / f"{spec.name}.png"
        save_png(fig, path)
        return path
    finally:
        plt.close(fig)
