"""Stop when decided: a group-sequential, order-statistic interval for the median of paired ratios.

A run adds pairs and looks at its interval after each block of them (the looks fixed in advance); it
stops at the first look whose interval decides the question, or at the last look. Looking again and
again and stopping on a decisive interval spoils a fixed-n interval's coverage (Armitage, McPherson &
Rowe 1969). So every look uses the same wider interval, chosen so that the intervals of all looks hold
together with probability at least `level`: then the interval at any stopping time, however the time
was chosen, holds with at least that probability. This is Pocock's (1977) constant nominal level per
look, with exact probabilities in place of his normal approximation.

The probability is exact and free of the ratios' distribution for independent pairs whose ratios have
a continuous distribution: the number B_n of ratios below the true median after n pairs is a random
walk of Bernoulli(1/2) steps, and the order-statistic interval [X_(l), X_(u)] holds at n exactly when
l <= B_n <= u - 1 (Conover 1999, §3.2, for one look). The walk's law across the looks is carried from
look to look by convolution with the binomial law of the pairs added in between.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from math import comb

import numpy as np


@dataclass(frozen=True)
class Look:
    """One planned look: after `pairs` pairs, the interval [X_(low_rank), X_(high_rank)] (1-based ranks);
    ranks of None: too few pairs for an interval at this level (the look cannot decide)."""

    pairs: int
    low_rank: int | None
    high_rank: int | None


@dataclass(frozen=True)
class SequentialDesign:
    """Looks fixed in advance, each with its interval's ranks, and the exact probability that the
    intervals of all looks hold together (the coverage at any stopping time is at least this)."""

    looks: tuple[Look, ...]
    level: float  # asked for
    per_look_level: float  # each look's own (Pocock's constant nominal level)
    coverage: float  # exact simultaneous coverage, >= level

    def interval(self, values: Sequence[float]) -> tuple[float, float] | None:
        """The interval after len(values) pairs, which must be a planned look; None if it has no ranks."""
        look = next((lk for lk in self.looks if lk.pairs == len(values)), None)
        if look is None:
            raise ValueError(f"{len(values)} pairs is not a planned look ({[lk.pairs for lk in self.looks]})")
        if look.low_rank is None or look.high_rank is None:
            return None
        ordered = np.sort(np.asarray(values, dtype=float))
        return float(ordered[look.low_rank - 1]), float(ordered[look.high_rank - 1])


def binomial_half_pmf(n: int) -> np.ndarray:
    """P(B = k) for B ~ Binomial(n, 1/2), k = 0..n, exactly (integers, then one division)."""
    return np.array([comb(n, k) for k in range(n + 1)], dtype=float) / 2.0**n


def symmetric_ranks(n: int, level: float) -> tuple[int, int] | None:
    """The narrowest symmetric order-statistic interval of the median of n values reaching `level` on its
    own: ranks (l, n + 1 - l) with P(B < l) <= (1 - level) / 2; None if even [min, max] falls short."""
    cdf = np.cumsum(binomial_half_pmf(n))
    tail = (1.0 - level) / 2.0
    low = int(np.searchsorted(cdf, tail, side="right"))  # the number of k with P(B <= k) <= tail
    if low < 1:
        return None
    return low, n + 1 - low


def simultaneous_coverage(looks: Sequence[Look]) -> float:
    """P(every look's interval holds) = P(low_rank_k <= B_{n_k} <= high_rank_k - 1 at every look k), for
    the Bernoulli(1/2) walk B; a look with no ranks holds nothing back (it cannot decide, so it cannot err)."""
    mass = np.array([1.0])  # the law of B over the states still covered, after 0 pairs
    done = 0
    for look in looks:
        mass = np.convolve(mass, binomial_half_pmf(look.pairs - done))
        done = look.pairs
        if look.low_rank is not None and look.high_rank is not None:
            states = np.arange(len(mass))
            mass = np.where((states >= look.low_rank) & (states <= look.high_rank - 1), mass, 0.0)
    return float(mass.sum())


def _looks_at(pairs: Sequence[int], per_look_level: float) -> tuple[Look, ...]:
    looks = []
    for n in pairs:
        ranks = symmetric_ranks(n, per_look_level)
        looks.append(Look(n, *(ranks if ranks is not None else (None, None))))
    return tuple(looks)


def design(pairs: Sequence[int], level: float) -> SequentialDesign:
    """Looks after each count in `pairs` (increasing), at the smallest constant per-look level whose
    intervals all hold together with probability >= `level` (found by bisection: coverage only grows
    with the per-look level). Raises ValueError for bad looks or a level out of (0, 1)."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), not {level}")
    if not pairs or any(b <= a for a, b in pairwise(pairs)) or pairs[0] < 1:
        raise ValueError(f"looks must be increasing positive pair counts, not {list(pairs)}")
    low, high = level, 1.0 - 1e-12
    for _ in range(60):
        middle = (low + high) / 2.0
        if simultaneous_coverage(_looks_at(pairs, middle)) >= level:
            high = middle
        else:
            low = middle
    looks = _looks_at(pairs, high)
    return SequentialDesign(looks, level, high, simultaneous_coverage(looks))


def decide(interval: tuple[float, float] | None, band: tuple[float, float]) -> str | None:
    """"inside" when the interval lies within the band, "outside" when it misses it, None while it
    straddles an edge (or there is no interval yet): the stopping rule's question at each look."""
    if interval is None:
        return None
    low, high = interval
    if band[0] <= low and high <= band[1]:
        return "inside"
    if high < band[0] or low > band[1]:
        return "outside"
    return None
