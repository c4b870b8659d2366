"""Several stored runs side by side (`bench report RUN RUN …`): each claim's verdict and headline figures
per run, under the runs' environments (host, CPU, cores, runtime), so that a writer can say "on both
machines" or see where a verdict depends on the machine; and each ratio a claim reads, run by run, with
whether the runs agree within their intervals. Reads stored results only; draws no plot."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.claims import ClaimsFile, ClaimVerdict, Figure, fmt, judge_claims
from harness.claims.headline import figure_words, measured_figures
from harness.claims.schema import RatioCheck
from harness.machine.cpus import format_cpu_list
from harness.report.blocks import Block, Bullets, Heading, Para, Table
from harness.report.html import to_html
from harness.report.markdown import to_markdown
from harness.results import RunResults, atomic_write_text, load_results

FILENAME = "side-by-side"  # .md and .html


@dataclass(frozen=True)
class RunColumn:
    directory: Path
    results: RunResults
    verdicts: list[ClaimVerdict]

    @property
    def name(self) -> str:
        return self.results.run_id


def load_columns(run_dirs: list[Path], claims: ClaimsFile) -> list[RunColumn]:
    columns = []
    for run_dir in run_dirs:
        results = load_results(run_dir)
        columns.append(RunColumn(run_dir, results, judge_claims(results, claims)))
    return columns


def environment_rows(columns: list[RunColumn]) -> list[list[str]]:
    """One row per fact of the machine and the runtime, one column per run."""
    envs = [c.results.environment for c in columns]
    rows = [
        ("host", lambda e: f"{e.get('hostname', '?')} ({e.get('os', '?')})"),
        ("CPU", lambda e: str(e.get("cpu_model", "?"))),
        ("cores", lambda e: f"{e.get('cpu_count_logical', '?')} logical (usable: "
                            f"{format_cpu_list(e.get('cpus_usable', []))})"),
        ("memory", lambda e: f"{e.get('memory_total_gb', '?')} GB"),
        ("runtime", lambda e: str(e.get("runtime", "?"))),
        ("Python / Node.js", lambda e: f"{e.get('python', '?')} / {e.get('node', '?')}"),
    ]
    out = [[label, *(text(e) for e in envs)] for label, text in rows]
    out.append(["run created", *(c.results.created_at for c in columns)])
    return out


def verdict_cell(v: ClaimVerdict) -> str:
    """"partly supported: Express 225 ms (219–244 ms, 94% CI, 5 trials); …" and the parts' verdicts."""
    deciding = [o for o in v.outcomes if o.reading == (v.decided_by or v.outcomes[0].reading)]
    figures = "; ".join(figure_words(f) for f in measured_figures(deciding))
    parts = "; ".join(f"{p.name}: {p.verdict}" for p in v.parts)
    return v.verdict + "".join(f" — {text}" for text in (parts, figures) if text)


def agreement(verdicts: list[ClaimVerdict]) -> str:
    # A run that could not check a claim (its scenario not run) neither agrees nor disagrees with the others.
    checked = [v for v in verdicts if v.verdict != "not checkable"]
    found = list(dict.fromkeys(v.verdict for v in checked))
    if not found:
        return "not checkable on any run"
    if len(found) == 1:
        where = ("every run" if len(checked) == len(verdicts)
                 else f"the {len(checked)} of {len(verdicts)} runs that check it")
        return f"{found[0]} on {where}"
    return "differs: " + ", ".join(found)


def claim_rows(columns: list[RunColumn]) -> list[list[str]]:
    rows = []
    for index, first in enumerate(columns[0].verdicts):
        per_run = [c.verdicts[index] for c in columns]
        rows.append([first.claim.id, first.claim.claim, *(verdict_cell(v) for v in per_run), agreement(per_run)])
    return rows


# ---- ratios from run to run -------------------------------------------------------------------


@dataclass(frozen=True)
class RatioAcross:
    """One ratio check's figure on each run (None where the run could not measure it)."""

    claim_id: str
    check: RatioCheck
    figures: list[Figure | None]

    @property
    def name(self) -> str:
        """"P2 crud rps", "P1 (held connections) connections connections_held"."""
        reading = f" ({self.check.reading})" if self.check.reading != "main" else ""
        return f"{self.claim_id}{reading} {self.check.scenario} {self.check.metric}"


def ratios_across(columns: list[RunColumn]) -> list[RatioAcross]:
    """Every ratio check of the claims, with its ratio figure from each run's verdicts (a claim's outcomes
    follow its checks' order)."""
    found = []
    for index, first in enumerate(columns[0].verdicts):
        for position, check in enumerate(first.claim.checks):
            if isinstance(check, RatioCheck):
                outcomes = [c.verdicts[index].outcomes[position] for c in columns]
                found.append(RatioAcross(first.claim.id, check, [o.figures[0] if o.figures else None
                                                                 for o in outcomes]))
    return found


def run_agreement(figures: list[Figure | None]) -> str:
    """Whether the runs that measured a ratio agree within their intervals (every two intervals overlap),
    and how far apart their medians lie: "3 runs agree, medians within 2.1%"; "disagree: run 2's interval
    [1.22–1.30] lies apart from run 1's [1.32–1.47]; medians within 9.8%". Overlap is the plain reading the
    issue asks for, not a test: two intervals that overlap can still differ (Schenker & Gentleman 2001)."""
    measured = [(f"run {i}", f) for i, f in enumerate(figures, start=1) if f is not None]
    if len(measured) < 2:
        return "measured on no run" if not measured else f"measured on {measured[0][0]} only"
    values = [f.value for _, f in measured]
    spread = f"medians within {_spread(values)}"
    without = [name for name, f in measured if not f.has_interval]
    if without:
        return f"cannot tell: {', '.join(without)} {'has' if len(without) == 1 else 'have'} no interval; {spread}"
    for later, (name, figure) in enumerate(measured):
        for other, earlier in measured[:later]:
            if not _overlap(figure, earlier):
                return (f"disagree: {name}'s interval {_span(figure)} lies apart from {other}'s {_span(earlier)}; "
                        f"{spread}")
    return f"{len(measured)} runs agree, {spread}"


def _spread(values: list[float]) -> str:
    low, high = min(values), max(values)
    return f"{(high - low) / low:.1%}" if low > 0 else "an unbounded spread"


def _overlap(a: Figure, b: Figure) -> bool:
    assert a.low is not None and a.high is not None and b.low is not None and b.high is not None
    return a.low <= b.high and b.low <= a.high


def _span(f: Figure) -> str:
    return f"[{fmt(f.low)}–{fmt(f.high)}]"


def ratio_rows(columns: list[RunColumn]) -> list[list[str]]:
    """One row per ratio check: where, each run's figure with its interval, whether they agree."""
    return [[r.claim_id, " ".join(p for p in (r.check.scenario, r.check.step, r.check.metric) if p),
             *(f.text() if f is not None else "not measured" for f in r.figures), run_agreement(r.figures)]
            for r in ratios_across(columns)]


def ratio_summary(columns: list[RunColumn]) -> list[str]:
    """One line per ratio: "P2 crud rps: 3 runs agree, medians within 2.1%"."""
    return [f"{r.name}: {run_agreement(r.figures)}" for r in ratios_across(columns)]


def side_by_side_blocks(columns: list[RunColumn]) -> list[Block]:
    names = [c.name for c in columns]
    differ = [r[0] for r in claim_rows(columns) if r[-1].startswith("differs")]
    return [
        Heading(f"The article's claims on {len(columns)} runs: {', '.join(names)}", 1),
        Para("Each claim's verdict per run with the figures it was decided on (medians, their CI with its real "
             "coverage, trial counts); the last column says whether the runs agree. The runs' own reports "
             "(bench report RUN) give the detail."),
        Heading("Environments", 2, "environments"),
        Table(["", *names], environment_rows(columns)),
        Heading("Claims", 2, "claims"),
        Table(["id", "claim", *names, "across runs"], claim_rows(columns)),
        Bullets([f"The verdict differs between runs for {', '.join(differ)}: it depends on the machine or the "
                 "runtime (or on noise); read each run's machine-independent figures (ratios) in its report."]
                if differ else ["Every claim has the same verdict on every run."]),
        Heading("Ratios from run to run", 2, "ratios"),
        Para("Each ratio a claim reads, per run: its median and interval (with the coverage it has, and what it "
             "counts: trials, rounds or pairs of slices). Runs agree when every two of their intervals overlap; "
             "the spread of the medians is the largest over the smallest, less one."),
        Table(["id", "where", *names, "across runs"], ratio_rows(columns)),
        Bullets(ratio_summary(columns)),
    ]


def write_side_by_side(run_dirs: list[Path], claims: ClaimsFile, out: Path) -> tuple[list[RunColumn], list[Path]]:
    columns = load_columns(run_dirs, claims)
    blocks = side_by_side_blocks(columns)
    out.mkdir(parents=True, exist_ok=True)
    md, html = out / f"{FILENAME}.md", out / f"{FILENAME}.html"
    atomic_write_text(md, to_markdown(blocks, out))
    atomic_write_text(html, to_html(blocks, f"Claims on {len(columns)} runs"))
    return columns, [md, html]
