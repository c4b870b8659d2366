"""Across-trial summaries (median, bootstrap CI, CV) and the warnings a reader must see.

Warnings follow pyperf's habit: say what is wrong with a figure and what to do about it,
rather than print it as if it were solid. Which flags warn, and in which words: harness.flags.
"""

from __future__ import annotations

from collections import defaultdict

from harness.flags import BY_NAME, FLAGS
from harness.machine.speed_probe import METRIC_SUFFIX as PROBE_SUFFIX
from harness.machine.speed_probe import speed_spread
from harness.results import RunResults, RunView, Step, Summary
from harness.stats import estimate


def summarize(results: RunResults) -> None:
    """Fill `results.summaries` and `results.warnings` from the stored metrics, then the run's own notes."""
    view = RunView(results)
    summaries = []
    for key in view.figure_keys():
        est = estimate(view.values(key))
        # a whole-trial figure (step "") computed across a sweep inherits the flags of every step of it
        flags = sorted(view.flag_names(key.target, key.scenario, key.step))
        if est.noisy:
            flags.append("noisy")
        if est.n == 1:
            flags.append("single_trial")
        summaries.append(Summary(target=key.target, scenario=key.scenario, step=key.step, metric=key.metric,
                                 unit=view.unit(key), n=est.n, median=est.median, ci_low=est.ci_low,
                                 ci_high=est.ci_high, cv=est.cv, flags=flags,
                                 ci_coverage=est.ci_coverage))
    results.summaries = summaries
    results.warnings = _warnings(summaries) + rerun_notes(results) + speed_notes(results) + results.run_notes


ROLE_WORDS = {"server": "the server's", "loadgen": "the load generator's", "database": "the database's"}
SPEED_SPREAD_PCT = 10.0  # about twice the probe's own spread on a quiet machine (harness.machine.speed_probe)


def speed_notes(results: RunResults) -> list[str]:
    """A warning when the same CPU task, timed before each trial, took over SPEED_SPREAD_PCT longer at its
    slowest than at its fastest on some role's cores: the machine itself changed speed during the run."""
    notes = []
    for role, values in probe_values(results).items():
        spread = speed_spread(values)
        if spread is not None and spread > SPEED_SPREAD_PCT:
            where = ROLE_WORDS.get(role, role)
            notes.append(f"the machine's own speed changed during the run: a fixed CPU task, timed on {where} "
                         f"cores before each trial, took {min(values):.2f}-{max(values):.2f} ms ({spread:.0f}% longer "
                         f"at its slowest), with nothing of the benchmark running. Absolute figures move with it; "
                         f"ratios between targets, measured round by round, much less. A shared or virtual "
                         f"machine's host can do this unseen by the foreign-CPU readings")
    return notes


def probe_values(results: RunResults) -> dict[str, list[float]]:
    """Per role, every trial's speed probe (ms), in run order."""
    values: dict[str, list[float]] = {}
    for m in results.metrics:
        if m.metric.endswith(PROBE_SUFFIX):
            values.setdefault(m.metric.removesuffix(PROBE_SUFFIX), []).append(m.value)
    return values


def rerun_notes(results: RunResults) -> list[str]:
    """One line per re-run round: "re-ran round 1 of throughput (1 attempt discarded: foreign CPU …)"."""
    notes, seen = [], set()
    for t in results.trials:
        if t.discarded_attempts and (t.scenario, t.trial) not in seen:
            seen.add((t.scenario, t.trial))
            count = len(t.discarded_attempts)
            why = "; ".join(d.reason for d in t.discarded_attempts)
            notes.append(f"re-ran round {t.trial} of {t.scenario} ({count} attempt{'s' if count > 1 else ''} "
                         f"discarded, every target: {why})")
    return notes


def _warnings(summaries: list[Summary]) -> list[str]:
    """One line per kind of problem, naming every figure it touches, with what to do about it."""
    found: dict[str, list[str]] = defaultdict(list)
    for s in summaries:
        if Step(s.step).is_endpoint:
            continue
        where = f"{s.target} {s.scenario}{' ' + s.step if s.step else ''}"
        for flag in FLAGS:
            if flag.name in s.flags and s.metric in flag.warn_metrics:
                found[flag.name].append(f"{where} {s.metric} (CV {s.cv:.0%})" if flag.show_cv else where)
    return [f"{BY_NAME[name].headline}: {'; '.join(places)}. {BY_NAME[name].advice}" for name, places in found.items()]
