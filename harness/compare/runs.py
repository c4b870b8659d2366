"""`bench compare`: two stored runs, metric by metric, judged with the rule of harness.compare.rules.

This module reads stored results only; it never runs a benchmark. Its outputs (compare.md,
compare.json) are written by harness.exporters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.compare.rules import JUDGED_VERDICTS, GateVerdicts, Key, MetricChange, RatioChange, Trials, judge
from harness.errors import BenchError
from harness.results import RunResults, RunView, load_results


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


@dataclass
class CompareResult(GateVerdicts):
    base: RunInfo
    new: RunInfo
    threshold_pct: float
    alpha: float
    absolute: bool  # True: judged on absolute figures alone, without the ratio check
    rows: list[MetricChange] = field(default_factory=list)
    ratios: list[RatioChange] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def judged(self) -> list[MetricChange]:
        return self.rows


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
    units: dict[Key, str] = dict(new.units)
    result = CompareResult(base=_info(base_dir, base.results), new=_info(new_dir, new.results),
                           threshold_pct=threshold_pct, alpha=alpha, absolute=absolute, warnings=_warnings(base, new))
    result.rows, result.ratios = judge(base_trials, new_trials, keys, threshold_pct, alpha, reference, absolute, units)
    unchecked = sum(r.absolute_verdict in JUDGED_VERDICTS and r.ratio_check is None for r in result.rows)
    if unchecked and not absolute:
        result.warnings.append(f"{unchecked} finding(s) have no ratio to a reference target to check them (one target "
                               "in a run, or a reference figure of 0: see the row's note): they rest on absolute "
                               "figures alone, which a change of machine speed also moves")
    return result


def _load(run_dir: Path, which: str) -> RunView:
    if not run_dir.is_dir():
        raise BenchError(f"{which} run {run_dir} does not exist")
    return RunView(load_results(run_dir))


def _check_compatible(base: RunView, new: RunView) -> None:
    """Refuse runs whose figures measure different things: another profile or another scenario set."""
    base_profile, new_profile = base.results.config.get("profile"), new.results.config.get("profile")
    if base_profile != new_profile:
        raise BenchError(f"the runs used different profiles (base {base_profile!r}, new {new_profile!r}): "
                         "their durations and loads differ, so their figures are not comparable")
    base_scenarios, new_scenarios = base.scenarios(), new.scenarios()
    if base_scenarios != new_scenarios:
        only_base, only_new = sorted(base_scenarios - new_scenarios), sorted(new_scenarios - base_scenarios)
        raise BenchError(f"the runs measured different scenarios (only in base: {', '.join(only_base) or '-'}; "
                         f"only in new: {', '.join(only_new) or '-'}): run both with the same --scenario options")
    if not _targets(base) & _targets(new):
        raise BenchError(f"the runs have no target in common (base: {', '.join(sorted(_targets(base)))}; "
                         f"new: {', '.join(sorted(_targets(new)))})")


def _targets(view: RunView) -> set[str]:
    return {key.target for key in view.figure_keys()}


def trials_of(view: RunView, endpoints: bool = False) -> Trials:
    """(target, scenario, step, metric) -> {trial: value}; per-endpoint rows only if asked for."""
    return {key: view.by_trial(key) for key in view.figure_keys(endpoints)}


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


def _warnings(base_view: RunView, new_view: RunView) -> list[str]:
    base, new = base_view.results, new_view.results
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
    only_base, only_new = _targets(base_view) - _targets(new_view), _targets(new_view) - _targets(base_view)
    if only_base or only_new:
        found.append(f"targets in one run only are left out (base only: {', '.join(sorted(only_base)) or '-'}; "
                     f"new only: {', '.join(sorted(only_new)) or '-'})")
    return found


def _differences(what: str, base: dict[str, Any], new: dict[str, Any], keys: tuple[str, ...]) -> list[str]:
    return [f"{what} {key} differs: base {base.get(key)!r}, new {new.get(key)!r}"
            for key in keys if base.get(key) != new.get(key)]
