"""Across-trial summaries (median, bootstrap CI, CV) and the warnings a reader must see.

Warnings follow pyperf's habit: say what is wrong with a figure and what to do about it,
rather than print it as if it were solid.
"""

from __future__ import annotations

from collections import defaultdict

from harness.results import RunResults, Summary
from harness.stats import NOISY_CV, estimate

NOISY_WATCHED = ("rps", "latency_p99_ms", "cold_start_ms", "rss_idle_mb")
HEADLINES = {
    "noisy": f"noisy (CV over {NOISY_CV:.0%} across trials)",
    "saturated": "load generator saturated (a Locust process above 90% of a core)",
    "little": "Little's law check failed (X·(R+Z) off N by over 20%)",
}
ADVICE = {
    "noisy": "Close other programs, or use longer durations or more trials (--profile full).",
    "saturated": "The load generator, not the server, was the limit there, so these figures understate the server:"
                 " give it more cores (--loadgen-cpus) or workers (--loadgen-workers), or compare with wrk.",
    "little": "Throughput × latency disagrees with the concurrency: requests queued outside the measurement.",
}


def _trial_flags(results: RunResults) -> dict[tuple[str, str, str], set[str]]:
    """(target, scenario, step) -> flag names raised in any trial, e.g. {"loadgen_saturated"}.

    A whole-trial figure (step "") computed across a sweep, such as max_concurrency_slo,
    inherits the flags of every step of its sweep.
    """
    flags: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for trial in results.trials:
        for flag in trial.flags:
            name, _, step = flag.partition(":")
            flags[(trial.target, trial.scenario, step)].add(name)
            flags[(trial.target, trial.scenario, "")].add(name)
    return flags


def summarize(results: RunResults) -> None:
    """Fill `results.summaries` and `results.warnings` from the stored metrics."""
    groups: dict[tuple[str, str, str, str, str], list[float]] = defaultdict(list)
    for m in results.metrics:
        groups[(m.target, m.scenario, m.step, m.metric, m.unit)].append(m.value)
    trial_flags = _trial_flags(results)
    summaries = []
    for (target, scenario, step, metric, unit), values in groups.items():
        est = estimate(values)
        base_step = ",".join(p for p in step.split(",") if not p.startswith("endpoint="))
        flags = sorted(trial_flags.get((target, scenario, base_step), set()))
        if est.noisy:
            flags.append("noisy")
        if est.n == 1:
            flags.append("single_trial")
        summaries.append(Summary(target=target, scenario=scenario, step=step, metric=metric, unit=unit, n=est.n,
                                 median=est.median, ci_low=est.ci_low, ci_high=est.ci_high, cv=est.cv, flags=flags))
    results.summaries = summaries
    results.warnings = _warnings(summaries)


def _warnings(summaries: list[Summary]) -> list[str]:
    """One line per kind of problem, naming every figure it touches, with what to do about it."""
    found: dict[str, list[str]] = defaultdict(list)
    for s in summaries:
        if "endpoint=" in s.step:
            continue
        where = f"{s.target} {s.scenario}{' ' + s.step if s.step else ''}"
        if "noisy" in s.flags and s.metric in NOISY_WATCHED:
            found["noisy"].append(f"{where} {s.metric} (CV {s.cv:.0%})")
        if s.metric == "rps" and "loadgen_saturated" in s.flags:
            found["saturated"].append(where)
        if s.metric == "rps" and "little_law" in s.flags:
            found["little"].append(where)
    return [f"{HEADLINES[kind]}: {'; '.join(places)}. {ADVICE[kind]}" for kind, places in found.items()]
