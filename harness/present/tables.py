"""Every table the terminal shows (rich), in one place: a run's summary, the claims' verdicts, a
comparison and its ratios, a history. Numbers are written by harness.numbers, flag marks come
from harness.flags."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich import box
from rich.markup import escape
from rich.table import Table

from harness.claims.outcomes import grouped
from harness.flags import marks
from harness.metrics import RPS
from harness.numbers import interval, number
from harness.results import RunResults, RunView, Step, Summary
from harness.stats import coverage_label

if TYPE_CHECKING:
    from harness.claims import ClaimVerdict
    from harness.compare import CompareResult
    from harness.history.figure import History
    from harness.report.side_by_side import RunColumn

HEADLINE = {
    "load": [RPS, "latency_p50_ms", "latency_p99_ms", "error_rate", "server_cpu_pct", "server_rss_mb",
             "loadgen_cpu_pct", "server_foreign_cpu_pct", "loadgen_foreign_cpu_pct"],
    "cold_start": ["cold_start_ms", "listen_ms", "rss_idle_mb", "uss_idle_mb"],
}
ALL_HEADLINES = [m for metrics in HEADLINE.values() for m in metrics]
VERDICT_STYLE = {"supported": "green", "partly supported": "cyan", "refuted": "red",
                 "inconclusive": "yellow", "not checkable": "dim", "by inspection": "blue",
                 "regression": "bold red", "improvement": "green", "too few trials": "yellow", "changed": "cyan",
                 "unconfirmed": "magenta"}


def styled(verdict: str, text: str | None = None) -> str:
    style = VERDICT_STYLE.get(verdict, "")
    text = verdict if text is None else text
    return f"[{style}]{text}[/]" if style else text


def _table(title: str, columns: list[str], **options: object) -> Table:
    table = Table(title=title, title_justify="left", **options)  # type: ignore[arg-type]
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


# ---- a run -----------------------------------------------------------------------------------------


def format_estimate(s: Summary) -> str:
    """"1,173 [1,137–1,220] 94% ~!": the median, its CI with the CI's real coverage, the flags' marks."""
    flagged = marks(s.flags)
    coverage = f" {coverage_label(s.ci_coverage).removesuffix(' CI')}" if s.ci_coverage is not None else ""
    return f"{number(s.median, s.unit)}{interval(s.ci_low, s.ci_high, s.unit)}{coverage}" + (
        f" [yellow]{flagged}[/]" if flagged else "")


def summary_table(results: RunResults) -> Table:
    targets = list(dict.fromkeys(t.target for t in results.trials))
    pair = len(targets) == 2
    title = f"{results.run_id}: median [CI] and the CI's real coverage across trials"
    ratio_column = [f"{targets[1]}/{targets[0]}"] if pair else []
    table = _table(title, ["scenario", "step", "metric", *targets, *ratio_column], show_lines=False)
    view = RunView(results)
    rows = sorted({(s.scenario, Step(s.step), s.metric) for s in view.summaries(endpoints=False)
                   if s.metric in ALL_HEADLINES}, key=lambda r: (r[0], r[1].sort_key(), ALL_HEADLINES.index(r[2])))
    for scenario, step, metric in rows:
        cells = [view.summary((t, scenario, step, metric)) for t in targets]
        row = [scenario, step, metric, *[format_estimate(c) if c else "—" for c in cells]]
        if pair:
            a, b = cells
            row.append(f"{number(b.median / a.median)}×" if a and b and a.median else "—")
        table.add_row(*row)
    return table


def verdicts_table(verdicts: list[ClaimVerdict], title: str = "The article's claims") -> Table:
    table = Table(title=title, title_justify="left", show_lines=True)
    for column, width in (("id", None), ("claim", 32), ("measured (median [CI, coverage])", 50), ("verdict", None),
                          ("reason", 56)):
        table.add_column(column, overflow="fold", max_width=width)
    for v in verdicts:
        parts = "".join(f"\n{p.name}: {styled(p.verdict)}" for p in v.parts)
        table.add_row(v.claim.id, v.claim.claim, v.measured(short=True), styled(v.verdict) + parts, v.reason)
    return table


def compact_verdicts_table(verdicts: list[ClaimVerdict], title: str = "The article's claims",
                           width: int = 160) -> Table:
    """One line per claim within `width` columns (about a screen): its verdict and the figures it was decided
    on, cut to the line; the claim itself is in the plain words above it, the whole text in verdicts_table
    (`bench report --full`) and in report.md. Narrower than NARROW columns, the verdict (also above) goes."""
    kept = [("id", [v.claim.id for v in verdicts])]
    if width >= NARROW:
        kept.append(("verdict", [v.verdict for v in verdicts]))
    widths = [max(len(name), *map(len, cells)) for name, cells in kept]
    measured_w = max(width - sum(w + 2 for w in widths), 12)  # two spaces after each column
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for (name, _), w in zip(kept, widths, strict=True):
        table.add_column(name, no_wrap=True, min_width=w)
    table.add_column("decided on (median [CI], coverage, trials)", no_wrap=True)
    for v in verdicts:
        verdict = [styled(v.verdict)] if width >= NARROW else []
        table.add_row(v.claim.id, *verdict, escape(_cut(decided_on(v), measured_w)))
    return table


NARROW = 100  # columns: below it the compact claims table drops its verdict column (the plain words have it)


def decided_on(v: ClaimVerdict) -> str:
    """The figures of the deciding reading's checks, by where they were read: "crud users=32 rps:
    express/fastapi 0.66× [0.6–0.7] (94% CI, 5 rounds)"; a behaviour's or code's answer; or why none was."""
    reading = v.decided_by or (v.outcomes[0].reading if v.outcomes else "")
    outcomes = [o for o in v.outcomes if o.reading == reading]
    texts = grouped([f for o in outcomes for f in o.shown(short=True)]) + [o.measured_text for o in outcomes]
    return "; ".join(dict.fromkeys(t for t in texts if t)) or f"not measured: {v.reason}"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def side_by_side_table(columns: list[RunColumn]) -> Table:
    """Several runs' environments, then each claim's verdict and headline figures per run."""
    from harness.report.side_by_side import claim_rows, environment_rows

    names = [c.name for c in columns]
    table = Table(title=f"The article's claims on {len(columns)} runs", title_justify="left", show_lines=True)
    for column, width in (("id", None), ("claim", 28), *((n, 48) for n in names), ("across runs", 22)):
        table.add_column(column, overflow="fold", max_width=width)
    for row in environment_rows(columns):
        table.add_row("", f"[dim]{row[0]}[/]", *row[1:], "")
    for claim_id, claim, *cells, across in claim_rows(columns):
        table.add_row(claim_id, claim, *(styled(c.split(" — ")[0], c) for c in cells),
                      styled("inconclusive" if across.startswith("differs") else "", across))
    return table


# ---- two runs, and many ------------------------------------------------------------------------------


def compare_table(result: CompareResult, show_all: bool = False) -> Table:
    from harness.compare.text import row_cells, verdict_text

    shown = [r for r in result.rows if show_all or r.direction != "none"]
    notes = any(r.note for r in shown)  # a note column only when some row needs one
    table = _table(f"{result.new.run_id} against {result.base.run_id}: change of the median "
                   f"[{1 - result.alpha:.0%} CI]", ["scenario", "step", "metric", "target", "base", "new",
                                                    "change [CI]", "p", "MDE", "verdict", *(["note"] if notes else [])])
    for r in shown:
        note = [f"[dim]{r.note or ''}[/]"] if notes else []
        table.add_row(*row_cells(r), styled(r.verdict, verdict_text(r)), *note)
    return table


def ratio_table(result: CompareResult) -> Table:
    from harness.compare.text import ratio_cells

    table = _table("ratios within each run (machine-independent): ratio of medians [CI]; change of the "
                   "per-round ratio [CI]", ["scenario", "step", "metric", "ratio", "base", "new", "change [CI]", "p",
                                            "MDE", "verdict"])
    for r in result.ratios:
        table.add_row(*ratio_cells(r), styled(r.verdict))
    return table


def history_table(h: History) -> Table:
    from harness.history.figure import table_rows, title

    table = _table(title(h), ["run", "date (UTC)", "commit", *h.targets])
    for row in table_rows(h):
        table.add_row(*[cell.replace("REGRESSION", "[bold red]REGRESSION[/]").replace(
            "(unconfirmed)", "[magenta](unconfirmed)[/]") for cell in row])
    return table
