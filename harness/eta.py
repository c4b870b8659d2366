"""Time remaining in a run: the plan's own durations, corrected by what the run has taken so far.

The plan knows each trial's measured time (warm-ups, windows, the load's tail: a kind's
`Params.planned_s()`), not what surrounds it (a server's start, the contract check, the probes, a
re-run). Those costs are learned as the run goes:

- a trial of a scenario that has already run a trial is expected to take what that scenario's
  trials took (the median of its observed walls: same parameters, same kind of work);
- a trial of a scenario not yet seen takes its planned time plus the median overhead seen so far
  (observed wall minus planned, over the finished trials), or its planned time alone before any.

A trial's observed wall runs from its first start to the start of the next planned trial, so a
re-run of a disturbed round lengthens the estimate of the trials like it, as it should.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import median


@dataclass
class Eta:
    """Fed the start of each planned trial (`started`); says the seconds remaining (`remaining_s`)."""

    planned_s: list[float]  # per planned trial, in run order
    groups: list[str]  # per planned trial: trials of one group (a scenario) take alike
    observed_s: dict[int, float] = field(default_factory=dict)  # trial index -> wall it took
    _current: int | None = None
    _current_start_s: float = 0.0

    def started(self, index: int, now_s: float) -> None:
        """Trial `index` (0-based) starts at `now_s`; a repeated index (a re-run) changes nothing."""
        if index == self._current:
            return
        if self._current is not None:
            self.observed_s[self._current] = now_s - self._current_start_s
        self._current, self._current_start_s = index, now_s

    def finished(self, now_s: float) -> None:
        """The last trial ended at `now_s`."""
        if self._current is not None:
            self.observed_s[self._current] = now_s - self._current_start_s
            self._current = None

    def expected_s(self, index: int) -> float:
        """What trial `index` is expected to take, by the rules of the module's doc."""
        same = [wall for i, wall in self.observed_s.items() if self.groups[i] == self.groups[index]]
        if same:
            return median(same)
        overheads = [wall - self.planned_s[i] for i, wall in self.observed_s.items()]
        return self.planned_s[index] + (max(median(overheads), 0.0) if overheads else 0.0)

    def remaining_s(self, now_s: float) -> float:
        """The trials not started, plus what the running one is still expected to take (never below 0)."""
        after = self._current + 1 if self._current is not None else len(self.observed_s)
        left = sum(self.expected_s(i) for i in range(after, len(self.planned_s)))
        if self._current is not None:
            left += max(self.expected_s(self._current) - (now_s - self._current_start_s), 0.0)
        return left
