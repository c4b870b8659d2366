"""The report's drawing kit: colours and markers per target, axes, error bars, flagged points, and the
PNG writer. harness.report.plots draws each figure with it. Agg backend: no display needed."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import PIL.Image
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter

from harness.flags import FLAGS
from harness.report.data import RunData
from harness.results import Summary

COLORS = {"fastapi": "#0072B2", "express": "#D55E00"}  # Okabe-Ito blue and vermillion: colour-blind safe
SPARE_COLORS = ["#009E73", "#CC79A7", "#E69F00", "#56B4E9"]
VERDICT_COLORS = {"supported": "#1a9850", "partly supported": "#91cf60", "refuted": "#d73027",
                  "inconclusive": "#e6a700", "not checkable": "#9e9e9e", "by inspection": "#4a6fa5"}
BLOCKING = tuple(f.name for f in FLAGS if f.blocks_verdict)  # a figure with one of these is drawn as flagged
# wrapped: on one line it was wider than a two-panel figure's panel, and constrained layout squeezed the panel
# to a sliver (or gave up, warning "axes sizes collapsed to zero") to make room for the legend
FLAGGED_LABEL = textwrap.fill("× flagged: " + ", ".join(f.legend for f in FLAGS if f.blocks_verdict), width=40)
DPI = 110

plt.rcParams.update({"font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10, "legend.fontsize": 9,
                     "axes.grid": True, "grid.alpha": 0.3})


MARKERS = {"fastapi": "o", "express": "s"}


def marker(target: str) -> str:
    return MARKERS.get(target, "D")


def _plain(value: float, _: object = None) -> str:
    return f"{value:g}"


def users_axis(ax: Axes, users: list[float], label: str = "concurrent users") -> None:
    """A log₂ x axis ticked at the steps themselves, labelled with plain numbers."""
    ax.set_xscale("log", base=2)
    ticks = sorted(set(users))
    if ticks:
        ax.set_xticks(ticks, [_plain(u) for u in ticks])
        ax.set_xlim(ticks[0] / 1.4, ticks[-1] * 1.4)
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(f"{label} (log scale)")


def auto_log_y(ax: Axes, values: list[float], label: str) -> None:
    """A log y axis only when the values span more than a decade; plain numbers either way."""
    positive = [v for v in values if v > 0]
    if positive and max(positive) / min(positive) > 10:
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(_plain))
        ax.yaxis.set_minor_formatter(NullFormatter())
        label += ", log scale"
    ax.set_ylabel(label + ")")


def color(target: str, targets: list[str]) -> str:
    if target in COLORS:
        return COLORS[target]
    others = [t for t in targets if t not in COLORS]
    return SPARE_COLORS[others.index(target) % len(SPARE_COLORS)]


def new_figure(ncols: int, title: str, width: float = 11.0, height: float = 4.4) -> tuple[Figure, list[Axes]]:
    fig, axes = plt.subplots(1, ncols, figsize=(width, height), layout="constrained", squeeze=False)
    fig.suptitle(title, fontsize=12, fontweight="bold")
    return fig, list(axes[0])


def error_bars(summaries: list[Summary]) -> np.ndarray:
    """Asymmetric error bars from each summary's CI (zero where there is none)."""
    low = [s.median - s.ci_low if s.ci_low is not None else 0.0 for s in summaries]
    high = [s.ci_high - s.median if s.ci_high is not None else 0.0 for s in summaries]
    return np.array([low, high])


def flagged(s: Summary) -> bool:
    return any(flag in s.flags for flag in BLOCKING)


def sweep(ax: Axes, data: RunData, scenario: str, metric: str, ylabel: str, xlabel: str = "concurrent users",
           **fixed: float) -> list[str]:
    """One line per target of a metric against users (log x axis), CI bars, flagged steps marked ×.

    `ylabel` is the axis label without its closing parenthesis, e.g. "p99 latency (ms".
    Returns the targets with a flagged step.
    """
    flagged_any, all_users, all_values = [], [], []
    for target in data.targets():
        points = data.by_users(target, scenario, metric, **fixed)
        if not points:
            continue
        users, summaries = [u for u, _ in points], [s for _, s in points]
        all_users += users
        all_values += [s.median for s in summaries]
        ax.errorbar(users, [s.median for s in summaries], yerr=error_bars(summaries),
                    color=color(target, data.targets()), marker=marker(target), capsize=3, label=target)
        bad = [(u, s.median) for u, s in points if flagged(s)]
        if bad:
            label = None if flagged_any else FLAGGED_LABEL
            ax.scatter(*zip(*bad, strict=True), marker="x", s=90, color="black", zorder=5, label=label)
            flagged_any.append(target)
    users_axis(ax, all_users, xlabel)
    auto_log_y(ax, all_values, ylabel)
    return flagged_any



def save_png(fig: Figure, path: Path) -> None:
    """A 256-colour PNG: line plots lose nothing visible and shrink about 3×, which keeps the
    self-contained report.html (images embedded as base64) near 400 kB instead of 1 MB."""
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=DPI, format="png")
    image = PIL.Image.open(buffer).convert("RGB").quantize(colors=256, method=PIL.Image.Quantize.MEDIANCUT)
    image.save(path, format="png", optimize=True)
