"""The verdict of `bench ab` from its one run: each target's head against its base, round by round.

The run holds each target twice, as `<name>-base` and `<name>-head`; trial i of both is round i (run
back to back, the order alternating). For every gated figure of every scenario step, the per-round
values go to harness.compare.paired.paired_change.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.compare.paired import PairedChange, Way, paired_change
from harness.compare.rules import GateVerdicts
from harness.metrics import GATED, direction
from harness.results import RunResults
from harness.results.view import RunView

BASE_SUFFIX, HEAD_SUFFIX = "-base", "-head"


def side_name(target: str, side: str) -> str:
    """express, "base" -> express-base: a valid target name (letters, digits, - and _)."""
    return f"{target}-{side}"


@dataclass(frozen=True)
class AbResult(GateVerdicts):
    base_ref: str
    head_ref: str
    base_label: str
    head_label: str
    run_dir: str
    threshold_pct: float
    alpha: float
    changes: list[PairedChange]
    warnings: list[str] = field(default_factory=list)

    def judged(self) -> list[PairedChange]:
        return self.changes


def paired_changes(results: RunResults, threshold_pct: float, alpha: float) -> tuple[list[PairedChange], list[str]]:
    """Every gated figure of every <target>-base / <target>-head pair, and warnings (rounds missing)."""
    view = RunView(results)
    changes: list[PairedChange] = []
    warnings: list[str] = []
    for key in view.figure_keys(endpoints=False):
        if not key.target.endswith(BASE_SUFFIX) or key.metric not in GATED:
            continue
        target = key.target.removesuffix(BASE_SUFFIX)
        head_key = (side_name(target, "head"), key.scenario, key.step, key.metric)
        if head_key not in view:
            warnings.append(f"{target} {key.scenario} {key.step} {key.metric}: measured on base only")
            continue
        base, head = view.by_trial(tuple(key)), view.by_trial(head_key)
        rounds = sorted(set(base) & set(head))
        if len(rounds) < max(len(base), len(head)):
            warnings.append(f"{target} {key.scenario} {key.step} {key.metric}: "
                            f"{max(len(base), len(head)) - len(rounds)} round(s) with one side only, left out")
        # A base of 0 has no ratio: that round is left out. A head of 0 (a server that answered nothing)
        # is kept: its ratio 0 is the worst rps there is, and leaving it out would let a broken head pass.
        pairs = [(base[r], head[r]) for r in rounds if base[r] > 0]
        if len(pairs) < len(rounds):
            warnings.append(f"{target} {key.scenario} {key.step} {key.metric}: {len(rounds) - len(pairs)} "
                            "round(s) with a base of 0, left out (no ratio)")
        label = (target, key.scenario, str(key.step), key.metric, view.unit(tuple(key)))
        counted = "pair" if key.scenario in results.config.get("slicing", {}) else "round"
        changes.append(paired_change([b for b, _ in pairs], [h for _, h in pairs], direction=_way(key.metric),
                                     threshold_pct=threshold_pct, alpha=alpha, label=label, counted=counted))
    changes.sort(key=lambda c: (c.target, c.scenario, c.step, GATED.index(c.metric)))
    return changes, warnings


def _way(metric: str) -> Way:
    way = direction(metric)
    if way == "none":
        raise ValueError(f"{metric} is gated but has no better direction in harness.metrics")
    return way
