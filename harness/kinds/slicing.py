"""A profile's paired slices: the settings, and how a scenario's trials number their pairs."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt

from harness.stats.sequential import SequentialDesign, design


class Slicing(BaseModel):
    """A profile's paired slices (`"slices": {...}` beside users, warmup_s, trials).

    The scenario's `trials` are its looks: after each trial of `pairs` pairs the run may stop, when
    every ratio the scenario feeds is decided (harness.claims.stopping; the intervals are those of the
    group-sequential design fixed by `trials`, `pairs` and `level`, harness.stats.sequential)."""

    model_config = ConfigDict(extra="forbid")

    slice_s: PositiveFloat = 1.0
    settle_s: float = Field(default=0.1, ge=0)  # not counted at each slice's start (harness.loadgen.slices)
    pairs: PositiveInt = 8  # per trial (look)
    level: float = Field(default=0.95, gt=0, lt=1)  # the design's simultaneous coverage, at least
    precision: float = Field(default=0.05, gt=0)  # a ratio is settled when its CI's half-width is below this


def first_pair(slicing: Slicing, trial: int) -> int:
    """The global number of a trial's first pair: trials number their pairs on from the last."""
    return (trial - 1) * slicing.pairs + 1


def sequential_design(slicing: Slicing, trials: int) -> SequentialDesign:
    """The looks fixed before the first pair: one after each trial's pairs, at the profile's level."""
    return design([slicing.pairs * trial for trial in range(1, trials + 1)], slicing.level)


def slicing_record(slicing: Slicing, trials: int) -> dict[str, Any]:
    """What results.json's config["slicing"][scenario] says of the design, before its first look."""
    fixed = sequential_design(slicing, trials)
    return {"slice_s": slicing.slice_s, "settle_s": slicing.settle_s, "pairs_per_look": slicing.pairs,
            "looks": [look.pairs for look in fixed.looks], "level": fixed.level,
            "per_look_level": fixed.per_look_level, "coverage": fixed.coverage, "precision": slicing.precision,
            "method": "group-sequential order-statistic interval of the median of per-pair ratios, Pocock's "
                      "constant level per look, exact coverage (harness.stats.sequential)"}
