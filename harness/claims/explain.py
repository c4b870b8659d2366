"""A judged claim made readable for a writer: the facts of the run that say what would decide it
(harness.claims.decide), the machine-independent readings beside its absolute figures and whether a
range's verdict sits near an edge (harness.claims.machine), and its headline (harness.claims.headline).
This module reads the run; the texts are made by those pure functions."""

from __future__ import annotations

import statistics
from dataclasses import replace

from harness.claims.decide import Facts, steps_to_decide
from harness.claims.headline import figure_words, headline
from harness.claims.judge import Context, ratio_figures
from harness.claims.machine import display, near_edge
from harness.claims.outcomes import READINGS_DISAGREE, ClaimVerdict
from harness.claims.schema import CompareCheck, GapCheck, GapPlace, Place, RangeCheck, RatioCheck
from harness.claims.view import Missing, common_step, read_sample
from harness.numbers import number as fmt
from harness.results import Step

FOREIGN = ("server_foreign_cpu_pct", "loadgen_foreign_cpu_pct")  # CPU others took from a role's cores


def explain(v: ClaimVerdict, ctx: Context) -> ClaimVerdict:
    decide = steps_to_decide(_deciding(v), run_facts(v, ctx))
    if v.verdict == "inconclusive" and v.reason.startswith(READINGS_DISAGREE):  # readings_must_agree, and they did not
        decide.append(f"which definition the article means: {v.reason.removeprefix(READINGS_DISAGREE).split('. ')[0]}")
    machine = machine_notes(v, ctx) + trial_notes(v, ctx)
    explained = replace(v, decide=decide, machine=machine)
    near = [note for note in machine if "would likely differ" in note]
    return replace(explained, headline=headline(explained) + "".join(f" {note}." for note in near))


def _deciding(v: ClaimVerdict) -> list:
    return [o for o in v.outcomes if o.reading == (v.decided_by or v.outcomes[0].reading)]


def _checks(v: ClaimVerdict) -> list:
    return [c for c, o in zip(v.claim.checks, v.outcomes, strict=True) if o.reading == v.decided_by]


def run_facts(v: ClaimVerdict, ctx: Context) -> Facts:
    """The foreign CPU seen and the sweeps' top steps of the claim's scenarios; each check's values."""
    scenarios = v.claim.scenarios()
    foreign = {s: max(_values(ctx, s, FOREIGN), default=0.0) for s in scenarios}
    tops = {s: grid[-1] for s in scenarios if (grid := ctx.view.grid(s, "users"))}
    values, bounds, gaps = {}, {}, {}
    for index, check in enumerate(_checks(v)):
        try:
            if isinstance(check, GapCheck):
                gaps[index] = _gap_values(check, ctx)
            else:
                values[index], bounds[index] = _check_values(check, ctx)
        except (Missing, TypeError):
            continue
    return Facts({s: f for s, f in foreign.items() if f > 0}, tops, values, bounds, gaps,
                 frozenset(ctx.policy.blocking_flags))


def _round_ratios(ctx: Context, a: str, b: str, place: Place | GapPlace, metric: str, step: str,
                  transform: str = "none") -> list[float]:
    """a/b per round (trial i of each target), as the paired ratio's median is taken."""
    sa, sb = (read_sample(ctx.view, t, place, metric, step, transform) for t in (a, b))
    rounds = dict(zip(sb.trials, sb.values, strict=True))
    return [x / rounds[t] for t, x in zip(sa.trials, sa.values, strict=True) if rounds.get(t)]


def _gap_values(check: GapCheck, ctx: Context) -> tuple[list[float], list[float]]:
    pair = [check.numerator, check.denominator]
    big_step = common_step(ctx.view, pair, check.larger, check.metric)
    small_step = common_step(ctx.view, pair, check.smaller, check.metric,
                             {k: v for k, v in Step(big_step).params.items() if isinstance(v, float)})
    return (_round_ratios(ctx, *pair, check.larger, check.metric, big_step),
            _round_ratios(ctx, *pair, check.smaller, check.metric, small_step))


def _values(ctx: Context, scenario: str, metrics: tuple[str, ...]) -> list[float]:
    return [x for target in ctx.view.targets() for metric in metrics
            for step in ctx.view.steps(target, scenario, metric)
            for x in ctx.view.values((target, scenario, str(step), metric))]


def _check_values(check: object, ctx: Context) -> tuple[list[float], tuple[float | None, float | None]]:
    """A range check's per-trial values; a ratio's or comparison's per-round ratios (trial i of each)."""
    if isinstance(check, RangeCheck):
        sample = read_sample(ctx.view, check.target, check, check.metric, transform=check.transform)
        return list(sample.values), (check.min, check.max)
    if isinstance(check, RatioCheck | CompareCheck):
        a, b = (check.numerator, check.denominator) if isinstance(check, RatioCheck) else (check.lower, check.higher)
        step = common_step(ctx.view, [a, b], check, check.metric)
        ratios = _round_ratios(ctx, a, b, check, check.metric, step, check.transform)
        return ratios, ((check.min, check.max) if isinstance(check, RatioCheck) else (None, 1.0))
    raise TypeError("no values for this check")


def machine_notes(v: ClaimVerdict, ctx: Context) -> list[str]:
    """Beside absolute figures (range checks): the ratio between the frameworks, each one's cost over
    its bare runtime where that baseline was measured, and a verdict near a range's edge."""
    ranges = [(c, o) for c, o in zip(_checks(v), _deciding(v), strict=True) if isinstance(c, RangeCheck)]
    if not ranges:
        return []
    notes = []
    first = ranges[0][0]
    targets = list(dict.fromkeys(c.target for c, _ in ranges if (c.scenario, c.metric) == (first.scenario,
                                                                                              first.metric)))
    pairs = [(targets[0], targets[1], "between the frameworks")] if len(targets) > 1 else []
    pairs += [(t, ctx.policy.baselines[t], "over its bare runtime") for t in targets
              if ctx.policy.baselines.get(t) in ctx.view.targets()]
    for a, b, what in pairs:
        try:
            ratio, _ = ratio_figures(ctx, a, b, first, first.metric)
        except Missing:
            continue
        notes.append(f"machine-independent, {what}: {figure_words(ratio)}")
    missing = [ctx.policy.baselines[t] for t in targets if t in ctx.policy.baselines
               and ctx.policy.baselines[t] not in ctx.view.targets()]
    if missing:
        notes.append(f"the bare runtimes ({', '.join(missing)}) were not measured in this run: "
                     f"{' '.join('--target ' + m for m in missing)} would show each framework's own cost")
    for check, outcome in ranges:
        for figure in outcome.figures:
            edge = near_edge(figure, check.min, check.max, ctx.policy.near_edge_fraction)
            notes += [edge] if edge else []
    return notes


# Per-trial medians of a sliced ratio further apart than this are reported: more than the precision a
# sliced scenario is run to (harness.kinds.slicing.Slicing.precision), so pairs alone would hide it.
TRIAL_SPREAD = 0.05
MIN_PAIRS_PER_TRIAL = 3  # the fewest pairs of a trial whose median is worth comparing


def trial_notes(v: ClaimVerdict, ctx: Context) -> list[str]:
    """Where a ratio comes from paired slices over several trials (each a fresh start of both servers):
    whether its per-trial medians differ by more than TRIAL_SPREAD. Pairs cancel the host's changes within
    a trial, not what a trial's start decides (a JIT's or a pool's state): then the ratio depends on the
    trial, and the writer is told by how much rather than given one interval that hides it."""
    notes = []
    for check in _checks(v):
        if not isinstance(check, RatioCheck):
            continue
        medians = _trial_medians(ctx, check)
        if len(medians) < 2:
            continue
        low, high = min(medians.values()), max(medians.values())
        if low > 0 and high / low - 1 > TRIAL_SPREAD:
            each = ", ".join(f"trial {t}: {fmt(m)}×" for t, m in sorted(medians.items()))
            notes.append(f"{check.numerator}/{check.denominator} {check.scenario} {check.metric} depends on the "
                         f"trial (a fresh start of both servers): per-trial medians {each}, {high / low - 1:.0%} "
                         "apart; more trials, not more pairs, would narrow it")
    return notes


def _trial_medians(ctx: Context, check: RatioCheck) -> dict[int, float]:
    """The median per-pair ratio of each trial of a sliced scenario (pairs grouped by TrialRecord.pairing)."""
    trial_of = {t.trial: t.pairing["trial"] for t in ctx.view.results.trials
                if t.scenario == check.scenario and t.target == check.numerator and t.pairing}
    if not trial_of:
        return {}
    try:
        step = common_step(ctx.view, [check.numerator, check.denominator], check, check.metric)
    except Missing:
        return {}
    sa = read_sample(ctx.view, check.numerator, check, check.metric, step, check.transform)
    sb = read_sample(ctx.view, check.denominator, check, check.metric, step, check.transform)
    other = dict(zip(sb.trials, sb.values, strict=True))
    grouped: dict[int, list[float]] = {}
    for pair, value in zip(sa.trials, sa.values, strict=True):
        if other.get(pair) and pair in trial_of:
            grouped.setdefault(trial_of[pair], []).append(value / other[pair])
    return {t: statistics.median(r) for t, r in grouped.items() if len(r) >= MIN_PAIRS_PER_TRIAL}


__all__ = ["display", "explain"]
