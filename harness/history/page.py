"""`bench history RESULTS_DIR`: every figure's trend across the stored runs of one profile, as one table.

The table has a row per run × target × scenario × step × metric (per-endpoint rows left out): the
median of the run's trials with its order-statistic CI (harness.stats.estimate), the run's commit and
machine, and the change against the previous run that has the figure, judged exactly as `bench compare`
judges it (harness.compare.judge: Mann-Whitney p < alpha AND beyond the threshold, confirmed by the
ratio to the reference target unless `absolute`). The runs come from the index (harness.history.index),
rebuilt from the run folders. Three renderings of the same table: history.html (one self-contained page,
an inline SVG trend per figure, no script and nothing fetched), history.json and history.csv.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from dataclasses import asdict, dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from harness.compare import judge
from harness.errors import BenchError
from harness.history.index import IndexedRun, RunIndex, open_index
from harness.metrics import Direction, direction
from harness.numbers import number
from harness.results import atomic_write_text, ordered_by_trial
from harness.results.keys import FigureKey, Step
from harness.stats import estimate

HISTORY_VERSION = 1  # of history.json and of `bench history --json`; additions keep it, changes raise it
HTML_FILENAME, JSON_FILENAME, CSV_FILENAME = "history.html", "history.json", "history.csv"
SIGNIFICANT = ("regression", "improvement", "changed")  # what the compare rule calls a change ("changed": no direction)


@dataclass(frozen=True)
class TrendPoint:
    """One row of the table: one figure of one target in one run."""

    run_id: str
    folder: str
    created_at: str
    git_commit: str | None
    machine: str
    target: str
    scenario: str
    step: str
    metric: str
    unit: str
    direction: Direction
    n: int
    median: float
    ci_low: float | None
    ci_high: float | None
    change_pct: float | None  # against the previous run with this figure; None for the first, or a base of 0
    p_value: float | None
    verdict: str  # bench compare's: regression, improvement, no change, unconfirmed, too few trials, changed; "" first


CSV_COLUMNS = [f for f in TrendPoint.__dataclass_fields__]


@dataclass
class Trends:
    results_dir: str
    profile: str | None
    threshold_pct: float
    alpha: float
    absolute: bool
    runs: list[IndexedRun] = field(default_factory=list)
    points: list[TrendPoint] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # runs left out, with why

    def figures(self) -> list[tuple[str, str, str]]:
        """(scenario, step, metric) of every figure, by scenario, then step in numeric order, then metric."""
        keys = {(p.scenario, p.step, p.metric) for p in self.points}
        return sorted(keys, key=lambda k: (k[0], Step(k[1]).sort_key(), k[1], k[2]))

    def targets(self) -> list[str]:
        return sorted({p.target for p in self.points})


def trends(results_dir: Path, *, profile: str | None = None, targets: list[str] | None = None,
           scenarios: list[str] | None = None, steps: list[str] | None = None, metrics: list[str] | None = None,
           last: int | None = None, threshold_pct: float = 5.0, alpha: float = 0.05, absolute: bool = False,
           index_path: Path | None = None) -> Trends:
    """The table of every figure (or those chosen) across the runs of one profile, default the newest run's."""
    with open_index(results_dir, index_path) as index:
        skipped = index.refresh(results_dir)
        runs = index.runs()
        if not runs:
            raise BenchError(f"no stored run in {results_dir} (a run is a folder with a results.json)")
        profile = profile or runs[-1].profile
        skipped += [f"{r.folder}: profile {r.profile!r}, not {profile!r}" for r in runs if r.profile != profile]
        chosen = [r for r in runs if r.profile == profile][-last if last else None:]
        if not chosen:
            raise BenchError(f"no stored run of profile {profile!r} in {results_dir}")
        result = Trends(results_dir=str(results_dir), profile=profile, threshold_pct=threshold_pct, alpha=alpha,
                        absolute=absolute, runs=chosen, skipped=skipped)
        wanted = {"target": targets, "scenario": scenarios, "step": steps, "metric": metrics}
        fingerprints = index.fingerprints()
        previous: dict[FigureKey, dict[int, float]] = {}  # the latest trials seen of each figure
        source: dict[FigureKey, str] = {}  # and the run they came from
        for run in chosen:
            figures, units = index.trials(run.folder)
            current = {key: _finite(trials) for key, trials in figures.items()
                       if all(not allowed or getattr(key, name) in allowed for name, allowed in wanted.items())}
            current = {key: trials for key, trials in current.items() if trials}
            judged = _judged(index, run.folder, previous, current, source, fingerprints,
                             (threshold_pct, alpha, absolute))
            for key in sorted(current, key=lambda k: (k.scenario, k.step.sort_key(), k.step, k.metric, k.target)):
                est = estimate(ordered_by_trial(current[key]))
                change, p_value, verdict = judged.get(tuple(key), (None, None, ""))
                result.points.append(TrendPoint(
                    run_id=run.run_id, folder=run.folder, created_at=run.created_at, git_commit=run.git_commit,
                    machine=run.machine, target=key.target, scenario=key.scenario, step=key.step, metric=key.metric,
                    unit=units.get(key, ""), direction=direction(key.metric), n=est.n, median=est.median,
                    ci_low=est.ci_low, ci_high=est.ci_high, change_pct=change, p_value=p_value, verdict=verdict))
            previous.update(current)
            source.update(dict.fromkeys(current, run.folder))
    if not result.points:
        raise BenchError(f"no figure of the chosen ones in the runs of profile {profile!r} in {results_dir}")
    return result


def _judged(index: RunIndex, folder: str, previous: dict[FigureKey, dict[int, float]],
            current: dict[FigureKey, dict[int, float]], source: dict[FigureKey, str], fingerprints: dict[str, str],
            rule: tuple[float, float, bool]) -> dict[tuple[str, str, str, str], tuple[float | None, float | None, str]]:
    """Each figure the run shares with the runs before it, judged against the latest of them by bench compare's
    rule: (change %, p, verdict) by key. The judgement is kept in the index under a signature of everything it
    depends on (the rule, the figures judged, the state of each run read), so an unchanged history is judged once."""
    common = sorted(set(previous) & set(current))
    if not common:
        return {}
    signature = hashlib.sha256(json.dumps([
        list(rule), fingerprints[folder], [[*key, source[key], fingerprints[source[key]]] for key in common],
    ]).encode()).hexdigest()
    kept = index.judged(signature)
    if kept is None:
        rows, _ = judge(previous, current, common, *rule[:2], absolute=rule[2])
        kept = [[r.target, r.scenario, r.step, r.metric, r.change_pct, r.p_value, r.verdict] for r in rows]
        index.keep_judged(signature, folder, kept)
    return {tuple(row[:4]): (row[4], row[5], row[6]) for row in kept}


def _finite(trials: dict[int, float]) -> dict[int, float]:
    return {trial: value for trial, value in trials.items() if math.isfinite(value)}


# ---- the table as JSON and CSV -------------------------------------------------------------------------------


def to_document(t: Trends) -> dict[str, Any]:
    """history.json, and `bench history --json`'s result (docs/formats.md, docs/schemas/history.schema.json)."""
    return {
        "history_version": HISTORY_VERSION,
        "results_dir": t.results_dir,
        "profile": t.profile,
        "rule": {"threshold_pct": t.threshold_pct, "alpha": t.alpha, "absolute": t.absolute},
        "runs": [asdict(r) for r in t.runs],
        "figures": [{"scenario": s, "step": step, "metric": m, "direction": direction(m)}
                    for s, step, m in t.figures()],
        "rows": [asdict(p) for p in t.points],
        "skipped": list(t.skipped),
    }


def to_json(t: Trends) -> str:
    return json.dumps(to_document(t), indent=1) + "\n"


def to_csv(t: Trends) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for p in t.points:
        writer.writerow({k: "" if v is None else v for k, v in asdict(p).items()})
    return buffer.getvalue()


# ---- the page ----------------------------------------------------------------------------------------------

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]
MARK = {"regression": "#c0392b", "improvement": "#1e8449", "changed": "#7f8c8d"}
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"  # no fetch of any kind, no script
STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; max-width: 90rem; margin: 1.5rem auto; padding: 0 1rem; color: #222; }
.wide { overflow-x: auto; margin: 1rem 0; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.regression { background: #f8d0cc; } td.improvement { background: #d9f2d9; } td.changed { background: #eee; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 24rem), 1fr)); gap: 0.8rem; }
figure { margin: 0; border: 1px solid #ddd; border-radius: 4px; padding: 0.4rem; }
figcaption { font-size: 13px; font-weight: 600; }
figcaption span { font-weight: normal; color: #555; }
svg.trend { width: 100%; height: auto; display: block; }
.key span { display: inline-block; margin-right: 1rem; }
.key i { display: inline-block; width: 0.9rem; height: 0.9rem; vertical-align: -0.1rem; margin-right: 0.3rem; }
"""
WIDTH, HEIGHT = 420, 220
LEFT, RIGHT, TOP, BOTTOM = 58, 10, 14, 38


def to_html(t: Trends) -> str:
    colours = {target: COLOURS[i % len(COLOURS)] for i, target in enumerate(t.targets())}
    changes = [p for p in t.points if p.verdict in SIGNIFICANT]
    rule = ("absolute figures alone" if t.absolute else
            "confirmed by the ratio to the reference target where both runs have one")
    parts = [
        f"<h1>History of {escape(Path(t.results_dir).name or t.results_dir)}: profile {escape(str(t.profile))}, "
        f"{len(t.runs)} runs, {len(t.figures())} figures</h1>",
        f"<p>Each plot is one figure across the runs, oldest first: per target the median of the run's trials "
        f"with its order-statistic confidence interval. A ring marks a change the compare rule calls significant "
        f"against the previous run (Mann-Whitney p &lt; {t.alpha:g} and beyond {t.threshold_pct:g}%, {rule}): "
        f"<b style='color:{MARK['regression']}'>regression</b>, <b style='color:{MARK['improvement']}'>"
        f"improvement</b>, <b style='color:{MARK['changed']}'>changed</b> (a figure without a better direction). "
        f"A dashed line is a change of machine. Hover a point for its run, commit, machine and value.</p>",
        '<p class="key">' + "".join(f'<span><i style="background:{c}"></i>{escape(target)}</span>'
                                    for target, c in colours.items()) + "</p>",
        "<h2>Runs</h2>", _runs_table(t),
        f"<h2>Significant changes ({len(changes)})</h2>",
        _changes_table(changes) if changes else "<p>None.</p>",
    ]
    by_scenario: dict[str, list[tuple[str, str, str]]] = {}
    for figure in t.figures():
        by_scenario.setdefault(figure[0], []).append(figure)
    for scenario, figures in by_scenario.items():
        parts.append(f'<h2 id="{escape(scenario)}">{escape(scenario)}</h2><div class="grid">')
        parts += [_figure(t, figure, colours) for figure in figures]
        parts.append("</div>")
    if t.skipped:
        parts.append("<h2>Left out</h2><ul>" + "".join(f"<li>{escape(s)}</li>" for s in t.skipped) + "</ul>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>bench history: {escape(str(t.profile))}</title><style>{STYLE}</style></head>\n<body>\n"
            + "\n".join(parts) + "\n</body></html>\n")


def _table(header: list[str], rows: list[list[tuple[str, str]]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f'<td class="{css}">{escape(text)}</td>' if css else f"<td>{escape(text)}</td>"
                                    for text, css in row) + "</tr>" for row in rows)
    return f'<div class="wide"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _runs_table(t: Trends) -> str:
    rows = [[(f"#{i}", ""), (r.run_id, ""), (r.created_at[:16].replace("T", " "), ""),
             ((r.git_commit or "?")[:12] + (" (dirty)" if r.git_dirty else ""), ""), (r.machine, "")]
            for i, r in enumerate(t.runs, start=1)]
    return _table(["#", "run", "date (UTC)", "commit", "machine"], rows)


def _changes_table(changes: list[TrendPoint]) -> str:
    rows = [[(p.run_id, ""), ((p.git_commit or "?")[:12], ""), (p.target, ""),
             (" ".join(x for x in (p.scenario, p.step, p.metric) if x), ""),
             (f"{number(p.median, p.unit)} {p.unit}".strip(), ""), (_change(p), ""), (p.verdict, p.verdict)]
            for p in changes]
    return _table(["run", "commit", "target", "figure", "median", "change", "verdict"], rows)


def _change(p: TrendPoint) -> str:
    return "—" if p.change_pct is None else f"{p.change_pct:+.1f}%"


def _figure(t: Trends, figure: tuple[str, str, str], colours: dict[str, str]) -> str:
    scenario, step, metric = figure
    points = [p for p in t.points if (p.scenario, p.step, p.metric) == figure]
    unit = next((p.unit for p in points if p.unit), "")
    better = {"higher": "higher is better", "lower": "lower is better", "none": "no direction"}[direction(metric)]
    caption = (f"<figcaption>{escape(metric)}{' (' + escape(unit) + ')' if unit else ''} "
               f"<span>{escape(step) + ' · ' if step else ''}{better}</span></figcaption>")
    label = f"{metric} in {scenario} {step}".strip()
    return f"<figure>{caption}{_svg(t, points, colours, label)}</figure>"


def _svg(t: Trends, points: list[TrendPoint], colours: dict[str, str], label: str) -> str:
    """One trend: x the run (all runs of the table, so plots line up), y the median with its interval."""
    index = {r.folder: i for i, r in enumerate(t.runs)}
    values = [v for p in points for v in (p.median, p.ci_low, p.ci_high) if v is not None]
    low, high = _y_range(values)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step_x = plot_w / max(len(t.runs), 1)

    def x(i: int) -> float:
        return LEFT + (i + 0.5) * step_x

    def y(v: float) -> float:
        return TOP + plot_h * (1 - (v - low) / (high - low))

    out = [f'<svg class="trend" viewBox="0 0 {WIDTH} {HEIGHT}" xmlns="http://www.w3.org/2000/svg" role="img" '
           f'aria-label="{escape(label)}" font-size="10" font-family="system-ui, sans-serif">',
           f"<title>{escape(label)}</title>",
           f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#ccc"/>']
    for tick in _ticks(low, high):
        ty = y(tick)
        out.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="#eee"/>'
                   f'<text x="{LEFT - 4}" y="{ty + 3:.1f}" text-anchor="end" fill="#444">{escape(number(tick))}</text>')
    every = max(1, math.ceil(len(t.runs) / 12))
    for i, run in enumerate(t.runs):
        if i % every == 0:
            out.append(f'<text x="{x(i):.1f}" y="{TOP + plot_h + 13}" text-anchor="middle" fill="#444">#{i + 1}</text>'
                       f'<text x="{x(i):.1f}" y="{TOP + plot_h + 25}" text-anchor="middle" fill="#777">'
                       f"{escape((run.git_commit or '?')[:7])}</text>")
        if i and run.machine != t.runs[i - 1].machine:
            edge = LEFT + i * step_x
            out.append(f'<line x1="{edge:.1f}" x2="{edge:.1f}" y1="{TOP}" y2="{TOP + plot_h}" stroke="#999" '
                       f'stroke-dasharray="4 3"><title>machine changed: {escape(run.machine)}</title></line>')
    for target in sorted({p.target for p in points}):
        colour = colours[target]
        mine = sorted((p for p in points if p.target == target), key=lambda p: index[p.folder])
        if len(mine) > 1:
            path = " ".join(f"{x(index[p.folder]):.1f},{y(p.median):.1f}" for p in mine)
            out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
        for p in mine:
            px, py = x(index[p.folder]), y(p.median)
            if p.ci_low is not None and p.ci_high is not None:
                out.append(f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{y(p.ci_low):.1f}" y2="{y(p.ci_high):.1f}" '
                           f'stroke="{colour}" stroke-opacity="0.6"/>')
            if p.verdict in MARK:
                out.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="7.5" fill="none" stroke="{MARK[p.verdict]}" '
                           f'stroke-width="2.2" class="mark {p.verdict}"/>')
            out.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3.2" fill="{colour}" class="point">'
                       f"<title>{escape(_tooltip(p))}</title></circle>")
    out.append("</svg>")
    return "".join(out)


def _tooltip(p: TrendPoint) -> str:
    ci = f" [{number(p.ci_low)}–{number(p.ci_high)}]" if p.ci_low is not None and p.ci_high is not None else ""
    verdict = f", {_change(p)} {p.verdict}" if p.verdict else ""
    return (f"{p.target}: {number(p.median, p.unit)} {p.unit}{ci} (n={p.n}){verdict}\nrun {p.run_id}, "
            f"{p.created_at[:16].replace('T', ' ')} UTC\ncommit {p.git_commit or '?'}\nmachine {p.machine}")


def _y_range(values: list[float]) -> tuple[float, float]:
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    if high == low:
        pad = abs(high) * 0.05 or 1.0
        return low - pad, high + pad
    pad = (high - low) * 0.08
    return low - pad, high + pad


def _ticks(low: float, high: float, count: int = 4) -> list[float]:
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(count + 2) if first + i * step <= high + step * 1e-9]


# ---- writing -------------------------------------------------------------------------------------------------

RENDERINGS = ((HTML_FILENAME, to_html), (JSON_FILENAME, to_json), (CSV_FILENAME, to_csv))


def write_trends(t: Trends, out_dir: Path) -> list[Path]:
    """history.html, history.json and history.csv in out_dir (created if needed)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for filename, render in RENDERINGS:
        atomic_write_text(out_dir / filename, render(t))
        paths.append(out_dir / filename)
    return paths
