"""`bench compare`: two stored runs, metric by metric, with asv's regression rule.

For every target × scenario × step × metric found in both runs, the per-trial values of the base
run and of the new run go to harness.stats.compare_samples: a change is a regression only when a
two-sided Mann-Whitney U test finds a difference (p < alpha) AND the median moved by more than
the threshold in the metric's bad direction (the rule airspeed velocity uses). DIRECTIONS says
which way is better; a metric without a direction is reported but never called a regression.

Machine-independent reading: within each run, the ratio of every target to a reference target
(e.g. Express/FastAPI rps, harness.stats.ratio_estimate on the trials) is compared across the two
runs. Both targets of a run share one machine and alternate trial by trial, so a runner that is
uniformly faster or slower cancels out of the ratio. By default a finding on a target's own
figures must also show in its ratio to the reference target (see compare_runs), because on a
shared machine the whole of one run is often slower than the whole of another.

This module reads stored results only; it never runs a benchmark. compare.json format history:
  1 (2026-11-27): first format. Since 2026-11-29 (still 1: only additions a reader of 1 can ignore)
    rows carry `note` (why a CI or a ratio is missing), and a ratio row's change_pct can be null
    (the base run's per-round ratios have median 0).
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from harness.errors import BenchError
from harness.results import RunResults, atomic_write_text, load_results
from harness.stats import Comparison, Ratio, compare_samples, min_trials_for_alpha, ratio_estimate

COMPARE_VERSION = 1
Direction = Literal["higher", "lower", "none"]

# Which way is better, by exact metric name; then by prefix (PREFIX_DIRECTIONS); anything else: "none".
DIRECTIONS: dict[str, Direction] = {
    "rps": "higher",
    "io_efficiency": "higher",
    "max_concurrency_slo": "higher",
    "connections_held": "higher",
    "knee_users": "higher",
    "usl_peak_users": "higher",
    "error_rate": "lower",
    "cold_start_ms": "lower",
    "listen_ms": "lower",
    "memory_per_connection_kb": "lower",
    "server_rss_mb": "lower",
    "server_rss_peak_mb": "lower",
    # Reported, never a regression:
    "latency_max_ms": "none",  # one request's outlier: a scheduling hiccup moves it, not the code
    "requests": "none",  # rps × duration: judging both would count one change twice
    "rps_ideal": "none",  # computed from the scenario's parameters, not measured
    "server_cpu_pct": "none",  # a saturated server is busy either way; more or less is neither good nor bad
    "loadgen_cpu_pct": "none",
    "sampler_cpu_pct": "none",
    "little_law_ratio": "none",  # a consistency check of the measurement, not a property of the server
    "usl_r2": "none",
    "rss_cv": "none",
    "rss_slope_mb_per_min": "none",  # near 0 and of either sign: a percent change of it means nothing
}
PREFIX_DIRECTIONS: tuple[tuple[str, Direction], ...] = (
    ("latency_", "lower"),
    ("rss_", "lower"),
    ("uss_", "lower"),
    ("pss_", "lower"),
)
REFERENCE_TARGET = "fastapi"  # the denominator of the ratios when a run has it
JUDGED_VERDICTS = ("regression", "improvement")


def direction(metric: str) -> Direction:
    """"higher" or "lower" is better, or "none" (reported only) for a metric name."""
    if metric in DIRECTIONS:
        return DIRECTIONS[metric]
    for prefix, value in PREFIX_DIRECTIONS:
        if metric.startswith(prefix):
            return value
    return "none"


@dataclass(frozen=True)
class RunInfo:
    """Where a compared run came from, as shown in the report's header."""

    path: str
    run_id: str
    created_at: str
    profile: str | None
    git_commit: str | None
    cpu_model: str | None
    complete: bool


@dataclass(frozen=True)
class MetricChange:
    """One metric of one target × scenario × step, new run against base run."""

    target: str
    scenario: str
    step: str
    metric: str
    unit: str
    direction: Direction
    base_n: int
    new_n: int
    base_median: float
    new_median: float
    change_pct: float | None  # None when the base median is 0 (a relative change is undefined)
    ci_low_pct: float | None  # CI of change_pct at 1 − alpha (bootstrap of the ratio of medians)
    ci_high_pct: float | None
    p_value: float | None  # two-sided Mann-Whitney U
    min_detectable_pct: float | None  # the smallest change this comparison could have flagged
    absolute_verdict: str  # asv's rule on this target's figures: regression | improvement | no change |
    #                        too few trials | changed (a metric without direction)
    ratio_check: str | None = None  # "confirmed" | "not confirmed"; None: no ratio to check, or not needed
    verdict: str = ""  # the final call: absolute_verdict, or "unconfirmed" when the ratio check failed
    note: str | None = None  # why a figure is missing: no CI (zero trials), no ratio to the reference target


@dataclass(frozen=True)
class RatioChange:
    """A target's figure relative to the reference target's within each run, compared across runs.

    base_ratio/new_ratio: median(target) / median(reference) within the run, with a bootstrap CI
    (ratio_estimate). The test pairs the trials of one round (both targets back to back, see
    harness.run.plan_trials): one ratio per round, compared across the runs with asv's rule. A
    "regression" means the target got worse relative to the reference.
    """

    scenario: str
    step: str
    metric: str
    direction: Direction
    numerator: str
    denominator: str
    base_ratio: float
    base_ci: tuple[float, float] | None
    new_ratio: float
    new_ci: tuple[float, float] | None
    rounds: tuple[int, int]  # paired rounds in base and in new
    change_pct: float | None  # of the median per-round ratio; None when the base's is 0
    ci_low_pct: float | None
    ci_high_pct: float | None
    p_value: float | None
    min_detectable_pct: float | None
    verdict: str


@dataclass
class CompareResult:
    base: RunInfo
    new: RunInfo
    threshold_pct: float
    alpha: float
    absolute: bool  # True: judged on absolute figures alone, without the ratio check
    rows: list[MetricChange] = field(default_factory=list)
    ratios: list[RatioChange] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def regressions(self) -> list[MetricChange]:
        return [r for r in self.rows if r.verdict == "regression"]

    @property
    def improvements(self) -> list[MetricChange]:
        return [r for r in self.rows if r.verdict == "improvement"]

    @property
    def exit_code(self) -> int:
        """0 with no regression, 1 with at least one (2, bad input, is raised as BenchError)."""
        return 1 if self.regressions else 0


Key = tuple[str, str, str, str]  # target, scenario, step, metric
Trials = dict[Key, dict[int, float]]  # key -> {trial number: value}


def compare_runs(base_dir: Path, new_dir: Path, threshold_pct: float = 5.0, metrics: list[str] | None = None,
                 alpha: float = 0.05, endpoints: bool = False, reference: str | None = None,
                 absolute: bool = False) -> CompareResult:
    """Compare every metric of `new_dir` against `base_dir`; BenchError (exit code 2) for bad input.

    By default a regression (or improvement) of a target needs asv's rule on its own figures AND the
    same finding on its ratio to the reference target, when the runs have one: a machine that got
    slower between the runs moves every target's figures, not their ratio. `absolute=True` skips the
    ratio check (a dedicated, quiet machine, where a change common to all targets must count too).
    """
    if not (math.isfinite(threshold_pct) and threshold_pct >= 0):
        raise BenchError(f"the threshold must be a non-negative percentage, got {threshold_pct}")
    base, new = _load(base_dir, "base"), _load(new_dir, "new")
    _check_compatible(base, new)
    base_trials, new_trials = trials_of(base, endpoints), trials_of(new, endpoints)
    keys = _common_keys(base_trials, new_trials, metrics)
    units = {(m.target, m.scenario, m.step, m.metric): m.unit for m in new.metrics}
    result = CompareResult(base=_info(base_dir, base), new=_info(new_dir, new), threshold_pct=threshold_pct,
                           alpha=alpha, absolute=absolute, warnings=_warnings(base, new))
    result.rows, result.ratios = judge(base_trials, new_trials, keys, threshold_pct, alpha, reference, absolute, units)
    unchecked = sum(r.absolute_verdict in JUDGED_VERDICTS and r.ratio_check is None for r in result.rows)
    if unchecked and not absolute:
        result.warnings.append(f"{unchecked} finding(s) have no ratio to a reference target to check them (one target "
                               "in a run, or a reference figure of 0: see the row's note): they rest on absolute "
                               "figures alone, which a change of machine speed also moves")
    return result


def judge(base: Trials, new: Trials, keys: list[Key], threshold_pct: float = 5.0, alpha: float = 0.05,
          reference: str | None = None, absolute: bool = False, units: dict[Key, str] | None = None
          ) -> tuple[list[MetricChange], list[RatioChange]]:
    """The rows and ratio rows for `keys` (each present in both): the core of compare_runs, also used by
    bench history between consecutive runs. A row whose ratio to the reference is undefined says why in its note."""
    ratios, no_ratio = _ratio_rows(keys, base, new, threshold_pct, alpha, reference)
    rows = []
    for key in keys:
        row = _compare_metric(key, (units or {}).get(key, ""), _in_order(base[key]), _in_order(new[key]),
                              threshold_pct, alpha)
        if key in no_ratio:
            row = replace(row, note="; ".join(n for n in (row.note, no_ratio[key]) if n))
        rows.append(_final(row, ratios, absolute))
    return rows, ratios


def _load(run_dir: Path, which: str) -> RunResults:
    if not run_dir.is_dir():
        raise BenchError(f"{which} run {run_dir} does not exist")
    return load_results(run_dir)


def _check_compatible(base: RunResults, new: RunResults) -> None:
    """Refuse runs whose figures measure different things: another profile or another scenario set."""
    base_profile, new_profile = base.config.get("profile"), new.config.get("profile")
    if base_profile != new_profile:
        raise BenchError(f"the runs used different profiles (base {base_profile!r}, new {new_profile!r}): "
                         "their durations and loads differ, so their figures are not comparable")
    base_scenarios, new_scenarios = _scenarios(base), _scenarios(new)
    if base_scenarios != new_scenarios:
        only_base, only_new = sorted(base_scenarios - new_scenarios), sorted(new_scenarios - base_scenarios)
        raise BenchError(f"the runs measured different scenarios (only in base: {', '.join(only_base) or '-'}; "
                         f"only in new: {', '.join(only_new) or '-'}): run both with the same --scenario options")
    if not _targets(base) & _targets(new):
        raise BenchError(f"the runs have no target in common (base: {', '.join(sorted(_targets(base)))}; "
                         f"new: {', '.join(sorted(_targets(new)))})")


def _scenarios(results: RunResults) -> set[str]:
    return {m.scenario for m in results.metrics}


def _targets(results: RunResults) -> set[str]:
    return {m.target for m in results.metrics}


def trials_of(results: RunResults, endpoints: bool = False) -> Trials:
    """(target, scenario, step, metric) -> {trial: value}; per-endpoint rows only if asked for."""
    trials: Trials = defaultdict(dict)
    for m in results.metrics:
        if endpoints or "endpoint=" not in m.step:
            trials[(m.target, m.scenario, m.step, m.metric)][m.trial] = m.value
    return trials


def _in_order(by_trial: dict[int, float]) -> list[float]:
    return [by_trial[trial] for trial in sorted(by_trial)]


def _common_keys(base: Trials, new: Trials, metrics: list[str] | None) -> list[Key]:
    common = set(base) & set(new)
    if metrics:
        known = {key[3] for key in common}
        missing = [m for m in metrics if m not in known]
        if missing:
            raise BenchError(f"no metric {missing[0]!r} in both runs; they share: {', '.join(sorted(known)) or '-'}")
        common = {key for key in common if key[3] in metrics}
    if not common:
        raise BenchError("the runs have no metric in common for a target × scenario × step")
    return sorted(common, key=lambda k: (k[1], k[2], k[0], k[3]))


def _info(run_dir: Path, results: RunResults) -> RunInfo:
    git = results.environment.get("git") or {}
    return RunInfo(path=str(run_dir), run_id=results.run_id, created_at=results.created_at,
                   profile=results.config.get("profile"), git_commit=git.get("commit"),
                   cpu_model=results.environment.get("cpu_model"), complete=results.complete)


# Settings that change what a run measures; a difference is shown above the comparison.
COMPARED_CONFIG = ("runtime", "workers", "loadgen_workers", "server_cpus", "loadgen_cpus", "memory_limit_mb",
                   "server_env", "base_images", "sample_hz")
COMPARED_ENVIRONMENT = ("cpu_model", "cpu_count_logical", "node", "python")


def _warnings(base: RunResults, new: RunResults) -> list[str]:
    found = [f"the {which} run is incomplete (interrupted or failed): it has fewer trials than planned"
             for which, run in (("base", base), ("new", new)) if not run.complete]
    found += _differences("config", base.config, new.config, COMPARED_CONFIG)
    machine = _differences("environment", base.environment, new.environment, COMPARED_ENVIRONMENT)
    found += machine
    if machine:
        found.append("the runs may come from different machines: the ratio rows survive that, absolute ones do not")
    base_params, new_params = base.config.get("scenario_params", {}), new.config.get("scenario_params", {})
    found += [f"scenario {name} ran with other parameters: base {base_params[name]}, new {new_params[name]}"
              for name in sorted(set(base_params) & set(new_params)) if base_params[name] != new_params[name]]
    only_base, only_new = _targets(base) - _targets(new), _targets(new) - _targets(base)
    if only_base or only_new:
        found.append(f"targets in one run only are left out (base only: {', '.join(sorted(only_base)) or '-'}; "
                     f"new only: {', '.join(sorted(only_new)) or '-'})")
    return found


def _differences(what: str, base: dict[str, Any], new: dict[str, Any], keys: tuple[str, ...]) -> list[str]:
    return [f"{what} {key} differs: base {base.get(key)!r}, new {new.get(key)!r}"
            for key in keys if base.get(key) != new.get(key)]


def _compare_metric(key: Key, unit: str, base: list[float], new: list[float], threshold_pct: float,
                    alpha: float) -> MetricChange:
    target, scenario, step, metric = key
    way = direction(metric)
    comparison = _comparison(base, new, way, threshold_pct, alpha)
    return MetricChange(
        target=target, scenario=scenario, step=step, metric=metric, unit=unit, direction=way, base_n=len(base),
        new_n=len(new), base_median=_median(base), new_median=_median(new), change_pct=_finite(comparison.change_pct),
        ci_low_pct=comparison.ci_low_pct, ci_high_pct=comparison.ci_high_pct, p_value=_finite(comparison.p_value),
        min_detectable_pct=comparison.min_detectable_pct, absolute_verdict=_undirected(comparison.verdict, way),
        note=comparison.note,
    )  # fmt: skip


def _undirected(verdict: str, way: Direction) -> str:
    """A metric without a direction is never a regression or an improvement, only "changed"."""
    return "changed" if way == "none" and verdict in JUDGED_VERDICTS else verdict


def _comparison(base: list[float], new: list[float], way: Direction, threshold_pct: float,
                alpha: float) -> Comparison:
    higher_is_better = way == "higher"
    if _median(base) != 0.0:
        return compare_samples(base, new, higher_is_better, threshold_pct, alpha)
    return _from_zero_base(base, new, higher_is_better, threshold_pct, alpha)


def _from_zero_base(base: list[float], new: list[float], higher_is_better: bool, threshold_pct: float,
                    alpha: float) -> Comparison:
    """A base median of 0 (typically error_rate): no relative change exists, but errors appearing is a
    regression. The test runs the other way round (the new median as the reference, which the
    Mann-Whitney test does not care about: it is symmetric), and its verdict is turned back.
    change_pct is NaN (undefined), reported as None. Zero trials on either side are fine (see
    compare_samples); the note says why the row has no change and no CI."""
    if _median(new) == 0.0:
        enough = min(len(base), len(new)) >= min_trials_for_alpha(alpha)
        return Comparison(change_pct=0.0, ci_low_pct=None, ci_high_pct=None, p_value=None,
                          verdict="no change" if enough else "too few trials", min_detectable_pct=None)
    backwards = compare_samples(new, base, higher_is_better, threshold_pct, alpha)
    flipped = {"regression": "improvement", "improvement": "regression"}.get(backwards.verdict, backwards.verdict)
    return Comparison(change_pct=math.nan, ci_low_pct=None, ci_high_pct=None, p_value=backwards.p_value,
                      verdict=flipped, min_detectable_pct=None,
                      note="the base median is 0: no relative change and no CI")


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _finite(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else value


def _ratio_rows(keys: list[Key], base: Trials, new: Trials, threshold_pct: float, alpha: float,
                reference: str | None) -> tuple[list[RatioChange], dict[Key, str]]:
    """Each target against the reference target, per scenario × step × metric with a direction; and for
    each target's key whose ratio is undefined, why (shown as the row's note)."""
    targets = {key[0] for key in keys}
    if not targets:
        return [], {}
    if reference and reference not in targets:
        raise BenchError(f"no target {reference!r} in both runs to divide by; they share: {', '.join(sorted(targets))}")
    denominator = reference or (REFERENCE_TARGET if REFERENCE_TARGET in targets else min(targets))
    rows, undefined = [], {}
    for key in keys:
        target, scenario, step, metric = key
        ref = (denominator, scenario, step, metric)
        if target == denominator or ref not in base or ref not in new or direction(metric) == "none":
            continue
        why = _undefined_ratio(key, ref, base, new)
        if why:
            undefined[key] = f"no ratio to {denominator}: {why}"
        else:
            rows.append(_ratio_change(key, ref, base, new, threshold_pct, alpha))
    return rows, undefined


def _undefined_ratio(key: Key, ref: Key, base: Trials, new: Trials) -> str | None:
    """Why target / reference is undefined in a run: a reference trial of 0 (its median, a bootstrap
    resample's median or a round's ratio could divide by 0), or no round that has both; else None."""
    for which, trials in (("base", base), ("new", new)):
        zeros = sum(value == 0.0 for value in trials[ref].values())
        if zeros:
            return f"{ref[0]}'s {ref[3]} is 0 in {zeros} of {len(trials[ref])} {which} trials"
        if not set(trials[key]) & set(trials[ref]):
            return f"no trial number of the {which} run has both {key[0]} and {ref[0]}"
    return None


def _round_ratios(trials: Trials, key: Key, ref: Key) -> list[float]:
    """target / reference for each trial number (round) that both have (no reference value is 0)."""
    rounds = sorted(set(trials[key]) & set(trials[ref]))
    return [trials[key][r] / trials[ref][r] for r in rounds]


def _ratio_change(key: Key, ref: Key, base: Trials, new: Trials, threshold_pct: float, alpha: float) -> RatioChange:
    """The ratio row of a defined ratio (see _undefined_ratio). The per-round ratios are judged as the
    figures are (_comparison): a base median of 0 (the target had no errors) is tested backwards."""
    way = direction(key[3])
    before = ratio_estimate(_in_order(base[key]), _in_order(base[ref]), confidence=1 - alpha)
    after = ratio_estimate(_in_order(new[key]), _in_order(new[ref]), confidence=1 - alpha)
    base_rounds, new_rounds = _round_ratios(base, key, ref), _round_ratios(new, key, ref)
    test = _comparison(base_rounds, new_rounds, way, threshold_pct, alpha)
    return RatioChange(
        scenario=key[1], step=key[2], metric=key[3], direction=way, numerator=key[0], denominator=ref[0],
        base_ratio=before.value, base_ci=_interval(before), new_ratio=after.value, new_ci=_interval(after),
        rounds=(len(base_rounds), len(new_rounds)), change_pct=_finite(test.change_pct), ci_low_pct=test.ci_low_pct,
        ci_high_pct=test.ci_high_pct, p_value=_finite(test.p_value), min_detectable_pct=test.min_detectable_pct,
        verdict=test.verdict,
    )  # fmt: skip


def _interval(ratio: Ratio) -> tuple[float, float] | None:
    return None if ratio.ci_low is None or ratio.ci_high is None else (ratio.ci_low, ratio.ci_high)


OPPOSITE = {"regression": "improvement", "improvement": "regression"}


def _final(row: MetricChange, ratios: list[RatioChange], absolute: bool) -> MetricChange:
    """The final verdict: a finding on absolute figures stands if the ratio to the reference says the same.

    For a target other than the reference, its own ratio row must show the same finding; for the
    reference itself, some other target's ratio must show the opposite (a slower reference makes
    every other target look better relative to it).
    """
    if absolute or row.absolute_verdict not in JUDGED_VERDICTS:
        return replace(row, verdict=row.absolute_verdict)
    same = [r for r in ratios if (r.scenario, r.step, r.metric) == (row.scenario, row.step, row.metric)]
    tested = [r for r in same if r.verdict != "too few trials"]  # too few paired rounds: no check at all
    mine = [r.verdict for r in tested if r.numerator == row.target]
    as_reference = [OPPOSITE.get(r.verdict, r.verdict) for r in tested if r.denominator == row.target]
    checks = mine or as_reference
    if not checks:
        return replace(row, verdict=row.absolute_verdict)
    confirmed = row.absolute_verdict in checks
    return replace(row, ratio_check="confirmed" if confirmed else "not confirmed",
                   verdict=row.absolute_verdict if confirmed else "unconfirmed")


# ---- exporters: one small function per format -------------------------------------------------------


def to_json(result: CompareResult) -> str:
    data: dict[str, Any] = {"compare_version": COMPARE_VERSION, **asdict(result),
                            "regressions": len(result.regressions), "improvements": len(result.improvements),
                            "exit_code": result.exit_code}
    return json.dumps(_no_nan(data), indent=1)


def _no_nan(value: Any) -> Any:
    """JSON has no NaN or Infinity: write null instead."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_no_nan(v) for v in value]
    return value


def fmt_value(value: float | None) -> str:
    if value is None:
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3g}"


def fmt_change(change_pct: float | None, low: float | None, high: float | None) -> str:
    if change_pct is None:
        return "—"
    return f"{change_pct:+.1f}%" + ("" if low is None or high is None else f" [{low:+.1f}, {high:+.1f}]")


def fmt_row_change(row: MetricChange) -> str:
    if row.change_pct is None:  # from a zero base: no relative change
        return f"{fmt_value(row.base_median)} → {fmt_value(row.new_median)}"
    return fmt_change(row.change_pct, row.ci_low_pct, row.ci_high_pct)


def fmt_p(p_value: float | None) -> str:
    return "—" if p_value is None else f"{p_value:.3f}"


def fmt_mde(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


def fmt_ratio(value: float, ci: tuple[float, float] | None) -> str:
    return f"{value:.3f}" + ("" if ci is None else f" [{ci[0]:.3f}, {ci[1]:.3f}]")


def fmt_verdict(row: MetricChange) -> str:
    """The final verdict, with what the ratio check changed: e.g. "unconfirmed (regression)"."""
    if row.verdict == "unconfirmed":
        return f"unconfirmed ({row.absolute_verdict})"
    return row.verdict + (" ✓ratio" if row.ratio_check == "confirmed" else "")


def headline(result: CompareResult) -> str:
    counts = {v: sum(r.verdict == v for r in result.rows) for v in ("regression", "improvement", "unconfirmed")}
    too_few = sum(r.verdict == "too few trials" and r.direction != "none" for r in result.rows)
    text = f"{counts['regression']} regression(s), {counts['improvement']} improvement(s) in {len(result.rows)} figures"
    if counts["unconfirmed"]:
        text += f"; {counts['unconfirmed']} change(s) unconfirmed by the ratio to the reference target (machine drift?)"
    return text + (f"; {too_few} judged figure(s) had too few trials to test" if too_few else "")


def rule(result: CompareResult) -> str:
    text = (f"A regression: two-sided Mann-Whitney U p < {result.alpha:g} AND the median worse by more than "
            f"{result.threshold_pct:g}% (asv's rule)")
    if not result.absolute:
        text += (", on the target's figures AND on its per-round ratio to the reference target (which a change of "
                 "machine speed does not move); with no reference in both runs, on the figures alone")
    return text + (f". Change: median(new)/median(base) − 1 with its {1 - result.alpha:.0%} bootstrap CI. MDE: the "
                   "smallest change this comparison could detect (80% power, from the trials' spread, at least the "
                   "threshold).")


def to_markdown(result: CompareResult) -> str:
    lines = [f"# Comparison: {result.new.run_id} against {result.base.run_id}", "",
             "| | run | created | git commit | profile |", "|---|---|---|---|---|"]
    for which, info in (("base", result.base), ("new", result.new)):
        commit = (info.git_commit or "?")[:12]
        lines.append(f"| {which} | {info.run_id} | {info.created_at[:19]} | {commit} | {info.profile} |")
    lines += ["", f"**{headline(result)}.**", "", rule(result), ""]
    lines += [f"- warning: {w}" for w in result.warnings] + ([""] if result.warnings else [])
    if result.regressions:
        lines += ["## Regressions", ""]
        lines += [f"- {_row_label(r)}: {fmt_row_change(r)}" for r in result.regressions] + [""]
    notes = any(r.note for r in result.rows)  # a note column only when some row needs one
    lines += ["## All figures", "", "| scenario | step | metric | target | better | base | new | change [CI] "
              "| p | MDE | verdict |" + (" note |" if notes else ""), "|---|---|---|---|---|---|---|---|---|---|---|"
              + ("---|" if notes else "")]
    lines += [_markdown_row(r) + (f" {r.note or ''} |" if notes else "") for r in result.rows]
    if result.ratios:
        lines += ["", "## Ratios within each run (machine-independent)", "",
                  "| scenario | step | metric | ratio | base [CI] | new [CI] | change [CI] | p | MDE | verdict |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        lines += [_markdown_ratio(r) for r in result.ratios]
    return "\n".join(lines) + "\n"


def _row_label(r: MetricChange) -> str:
    return f"{r.target} {r.scenario}{' ' + r.step if r.step else ''} {r.metric}"


def _markdown_row(r: MetricChange) -> str:
    verdict = f"**{fmt_verdict(r)}**" if r.verdict in JUDGED_VERDICTS else fmt_verdict(r)
    return (f"| {r.scenario} | {r.step} | {r.metric} | {r.target} | {r.direction} | {fmt_value(r.base_median)} | "
            f"{fmt_value(r.new_median)} | {fmt_row_change(r)} | {fmt_p(r.p_value)} | {fmt_mde(r.min_detectable_pct)} "
            f"| {verdict} |")


def _markdown_ratio(r: RatioChange) -> str:
    return (f"| {r.scenario} | {r.step} | {r.metric} | {r.numerator}/{r.denominator} | "
            f"{fmt_ratio(r.base_ratio, r.base_ci)} | {fmt_ratio(r.new_ratio, r.new_ci)} | "
            f"{fmt_change(r.change_pct, r.ci_low_pct, r.ci_high_pct)} | {fmt_p(r.p_value)} | "
            f"{fmt_mde(r.min_detectable_pct)} | {r.verdict} |")


def write_reports(result: CompareResult, out_dir: Path) -> list[Path]:
    """compare.md and compare.json in out_dir (created if needed)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "compare.md", out_dir / "compare.json"]
    atomic_write_text(paths[0], to_markdown(result))
    atomic_write_text(paths[1], to_json(result))
    return paths
