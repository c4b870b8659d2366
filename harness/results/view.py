"""One indexed view of a stored run, read by claims, compare, history, summarize and the report.

Built once from RunResults: per figure key its per-trial values (in stored order, trial numbers
beside), its unit, its bounded trials (M_censored: lower bounds; M_upper_bound: upper bounds) and
its summary; per target × scenario the trial flags. Nothing here computes a statistic: harness.stats
does, on the values this gives.
"""

from __future__ import annotations

from collections import defaultdict

from harness.results.keys import FigureKey, Step
from harness.results.records import RunResults, Summary


class RunView:
    """A RunResults indexed by figure key (target, scenario, step, metric)."""

    def __init__(self, results: RunResults) -> None:
        self.results = results
        self._trials: dict[FigureKey, list[tuple[int, float]]] = defaultdict(list)
        self.units: dict[FigureKey, str] = {}
        for m in results.metrics:
            key = FigureKey.of(m.target, m.scenario, m.step, m.metric)
            self._trials[key].append((m.trial, m.value))
            self.units[key] = m.unit
        self._summaries = {FigureKey.of(s.target, s.scenario, s.step, s.metric): s for s in results.summaries}
        self._flags: dict[tuple[str, str], set[str]] = defaultdict(set)
        for t in results.trials:
            self._flags[(t.target, t.scenario)].update(t.flags)

    # ---- figures ---------------------------------------------------------------------------------

    def figure_keys(self, endpoints: bool = True) -> list[FigureKey]:
        """Every figure key in stored order; per-endpoint rows only if asked for."""
        return [k for k in self._trials if endpoints or not k.step.is_endpoint]

    def __contains__(self, key: object) -> bool:
        return key in self._trials

    def values(self, key: tuple[str, str, str, str]) -> list[float]:
        """The figure's per-trial values in stored order ([] for a figure not in the run)."""
        return [v for _, v in self._trials.get(FigureKey.of(*key), [])]

    def trial_numbers(self, key: tuple[str, str, str, str]) -> list[int]:
        """Beside values(key)."""
        return [t for t, _ in self._trials.get(FigureKey.of(*key), [])]

    def by_trial(self, key: tuple[str, str, str, str]) -> dict[int, float]:
        """trial number -> value (a trial stored twice keeps its last value)."""
        return dict(self._trials.get(FigureKey.of(*key), []))

    def unit(self, key: tuple[str, str, str, str]) -> str:
        return self.units.get(FigureKey.of(*key), "")

    def censored(self, key: tuple[str, str, str, str]) -> list[bool]:
        """Beside values(key): True for a trial whose value is only a lower bound (its M_censored is 1)."""
        key = FigureKey.of(*key)
        marked = {t for t, v in self._trials.get(key.censored_key, []) if v >= 0.5}
        return [t in marked for t, _ in self._trials.get(key, [])]

    def upper_bounded(self, key: tuple[str, str, str, str]) -> list[bool]:
        """Beside values(key): True for a trial whose value is only an upper bound (its M_upper_bound is 1:
        e.g. a rate sweep's lowest step already failed, so the server's limit is below it)."""
        key = FigureKey.of(*key)
        marked = {t for t, v in self._trials.get(key.upper_bound_key, []) if v >= 0.5}
        return [t in marked for t, _ in self._trials.get(key, [])]

    def summary(self, key: tuple[str, str, str, str]) -> Summary | None:
        return self._summaries.get(FigureKey.of(*key))

    def summaries(self, endpoints: bool = True) -> list[Summary]:
        return [s for k, s in self._summaries.items() if endpoints or not k.step.is_endpoint]

    # ---- what the run holds ------------------------------------------------------------------------

    def targets(self) -> list[str]:
        """Every target with a trial or a figure, alphabetical (stable colours and columns)."""
        return sorted({t.target for t in self.results.trials} | {k.target for k in self._trials})

    def scenarios(self) -> set[str]:
        return {k.scenario for k in self._trials}

    def steps(self, target: str, scenario: str, metric: str) -> list[Step]:
        """The step labels of one target's figure in a scenario, endpoint rows included, stored order."""
        return [k.step for k in self._trials if (k.target, k.scenario, k.metric) == (target, scenario, metric)]

    def has(self, target: str, scenario: str) -> bool:
        return any((k.target, k.scenario) == (target, scenario) for k in self._trials)

    def grid(self, scenario: str, parameter: str) -> list[float]:
        """The values a step parameter takes in a scenario's configuration, e.g. its users steps."""
        params = self.results.config.get("scenario_params", {}).get(scenario, {})
        values = params.get(parameter) or params.get("matrix", {}).get(parameter) or []
        return sorted(float(v) for v in values)

    # ---- flags -------------------------------------------------------------------------------------

    def trial_flags(self, target: str, scenario: str, step: str) -> set[str]:
        """Trial flags ("name:step") raised at this figure's load step; a whole-trial figure ("" step),
        computed across a sweep such as max_concurrency_slo, inherits every step's flags."""
        base = Step(step).load_step
        return {f for f in self._flags[(target, scenario)] if not base or f.partition(":")[2] == base}

    def flag_names(self, target: str, scenario: str, step: str) -> set[str]:
        """The names of trial_flags, e.g. {"loadgen_saturated"}."""
        return {f.partition(":")[0] for f in self.trial_flags(target, scenario, step)}


def ordered_by_trial(by_trial: dict[int, float]) -> list[float]:
    """Values in trial-number order."""
    return [by_trial[trial] for trial in sorted(by_trial)]

