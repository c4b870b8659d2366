"""The regression rule of `bench compare` and `bench history`, on per-trial values of two runs.

For every target × scenario × step × metric, the per-trial values of the base run and of the new run
go to harness.stats.compare_samples: a change is a regression only when a two-sided Mann-Whitney U
test finds a difference (p < alpha) AND the median moved by more than the threshold in the metric's
bad direction (the rule airspeed velocity uses). harness.metrics says which way is better; a metric
without a direction is reported but never called a regression.

Machine-independent reading: within each run, the ratio of every target to a reference target
(e.g. Express/FastAPI rps, harness.stats.ratio_estimate on the trials) is compared across the two
runs. Both targets of a run share one machine and alternate trial by trial, so a runner that is
uniformly faster or slower cancels out of the ratio. By default a finding on a target's own
figures must also show in its ratio to the reference target (see _final), because on a shared
machine the whole of one run is often slower than the whole of another.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from harness.errors import BenchError
from harness.metrics import Direction, direction
from harness.results import FigureKey, ordered_by_trial
from harness.stats import Comparison, Ratio, compare_samples, min_trials_for_alpha, ratio_estimate


class GateVerdicts:
    """Regressions, improvements and the exit code of a gate's judged changes, for `bench compare`
    (CompareResult.rows) and `bench ab` (AbResult.changes): each names its list in `judged()`."""

    def judged(self) -> list[Any]:
        raise NotImplementedError

    @property
    def regressions(self) -> list[Any]:
        return [c for c in self.judged() if c.verdict == "regression"]

    @property
    def improvements(self) -> list[Any]:
        return [c for c in self.judged() if c.verdict == "improvement"]

    @property
    def exit_code(self) -> int:
        """0 with no regression, 1 with at least one (2, bad input, is raised as BenchError; an internal
        error is reported as 2 by the CLI, never 1)."""
        return 1 if self.regressions else 0


REFERENCE_TARGET = "fastapi"  # the denominator of the ratios when a run has it
JUDGED_VERDICTS = ("regression", "improvement")


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
    min_detectable_pct: float | None  # the smallest change this rule calls 4 times in 5 (compare_samples)
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


Key = tuple[str, str, str, str] | FigureKey  # target, scenario, step, metric
Trials = dict[Key, dict[int, float]]  # key -> {trial number: value}


def judge(base: Trials, new: Trials, keys: list[Key], threshold_pct: float = 5.0, alpha: float = 0.05,
          reference: str | None = None, absolute: bool = False, units: dict[Key, str] | None = None
          ) -> tuple[list[MetricChange], list[RatioChange]]:
    """The rows and ratio rows for `keys` (each present in both): the core of compare_runs, also used by
    bench history between consecutive runs. A row whose ratio to the reference is undefined says why in its note."""
    ratios, no_ratio = _ratio_rows(keys, base, new, threshold_pct, alpha, reference)
    rows = []
    for key in keys:
        row = _compare_metric(key, (units or {}).get(key, ""), ordered_by_trial(base[key]), ordered_by_trial(new[key]),
                              threshold_pct, alpha)
        if key in no_ratio:
            row = replace(row, note="; ".join(n for n in (row.note, no_ratio[key]) if n))
        rows.append(_final(row, ratios, absolute))
    return rows, ratios


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
    before = ratio_estimate(ordered_by_trial(base[key]), ordered_by_trial(base[ref]), confidence=1 - alpha)
    after = ratio_estimate(ordered_by_trial(new[key]), ordered_by_trial(new[ref]), confidence=1 - alpha)
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
