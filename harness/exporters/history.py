"""One figure's history as files: a Markdown table and a plot (`bench history --metric`)."""

from __future__ import annotations

from pathlib import Path

from harness.history.figure import History, table_rows, title
from harness.report.blocks import Block, Bullets, Heading, Para, Table
from harness.report.markdown import to_markdown as render
from harness.results import atomic_write_text

LEGEND = ("REGRESSION: worse than the previous run as bench compare judges it (Mann-Whitney p < alpha AND beyond "
          "the threshold, confirmed by the ratio to the reference target when both runs have one). (unconfirmed): a "
          "change the ratio did not confirm (the machine, not the target?).")


def document(h: History) -> list[Block]:
    blocks: list[Block] = [Heading(title(h), 1), Table(["run", "date (UTC)", "commit", *h.targets], table_rows(h)),
                           Para(LEGEND)]
    return blocks + ([Bullets([f"left out: {note}" for note in h.skipped])] if h.skipped else [])


def to_markdown(h: History) -> str:
    return render(document(h), Path("."))


def plot(h: History, path: Path) -> Path:
    """The medians with their CIs per target across runs; regressions circled in red. Agg: no display."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(max(6.0, 0.6 * len(h.runs) + 3), 4.5), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    index = {run_id: i for i, run_id in enumerate(h.runs)}
    for target in h.targets:
        points = [p for p in h.points if p.target == target]
        x = [index[p.run_id] for p in points]
        low = [p.median - p.ci_low if p.ci_low is not None else 0.0 for p in points]
        high = [p.ci_high - p.median if p.ci_high is not None else 0.0 for p in points]
        axes.errorbar(x, [p.median for p in points], yerr=[low, high], marker="o", capsize=3, label=target)
        bad = [p for p in points if p.verdict == "regression"]
        axes.scatter([index[p.run_id] for p in bad], [p.median for p in bad], s=160, facecolors="none",
                     edgecolors="red", linewidths=2, zorder=3, label=f"{target}: regression" if bad else None)
    axes.set_xticks(range(len(h.runs)), [r[:24] for r in h.runs], rotation=30, ha="right", fontsize=8)
    axes.set_ylabel(f"{h.metric} ({h.unit})")
    axes.set_title(title(h), fontsize=9)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    return path


def write_reports(h: History, out_dir: Path) -> list[Path]:
    stem = "-".join(part for part in ("history", h.scenario, h.step.replace(",", "_").replace("=", ""), h.metric)
                    if part)
    markdown = out_dir / f"{stem}.md"
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(markdown, to_markdown(h))
    return [markdown, plot(h, out_dir / f"{stem}.png")]
