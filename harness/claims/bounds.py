"""Figures beyond the load generator, said as bounds on the server.

Where a step's throughput was limited by the load generator (flag loadgen_saturated) or needed over
70% of its measured ceiling (flag generator_bound), the figure cannot decide a claim, but it is not
empty: the server answered at least that many requests a second, so its capacity on this machine
is above it. The bound is the lower end of the figure's interval (its lowest trials), else its value.
"""

from __future__ import annotations

from collections.abc import Iterable

from harness.claims.schema import Policy
from harness.claims.view import Figure
from harness.flags import name_and_step
from harness.numbers import number as fmt

GENERATOR_FLAGS = ("loadgen_saturated", "generator_bound")
RATE_UNIT = "req/s"


def generator_bound_note(figures: Iterable[Figure], policy: Policy) -> str:
    """"; express above 8,900 req/s on this machine (generator-bound)" for each request-rate figure a
    blocking generator flag made undecidable, or "" when there is none."""
    blocking = set(GENERATOR_FLAGS) & set(policy.blocking_flags)
    parts = []
    for figure in figures:
        names = {name_and_step(flag)[0] for flag in figure.flags}
        if figure.unit != RATE_UNIT or not names & blocking:
            continue
        floor = figure.low if figure.low is not None else figure.value
        parts.append(f"{figure.label} above {fmt(floor)} {RATE_UNIT}")
    return "".join(f"; {part} on this machine (generator-bound)" for part in parts)
