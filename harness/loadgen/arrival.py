"""Open-model load, free of gevent: when each request is meant to be sent, how long it took
measured from then, and how many were offered, sent, late or dropped.

In an open model requests arrive at a set rate whatever happened to earlier ones (Schroeder,
Wierman & Harchol-Balter, "Open Versus Closed: A Cautionary Tale", NSDI 2006). A closed
client that waits for a slow answer does not send what it should have sent meanwhile, so the
wait never shows in its percentiles: coordinated omission (Gil Tene, "How NOT to Measure
Latency"). wrk2 (`-R`, its README's "Coordinated Omission" section) times each request from the
moment the constant-rate plan meant to send it; k6's `constant-arrival-rate` executor starts
iterations on schedule while it has a free VU and counts the others as `dropped_iterations`.
This module does both: latency from the *intended* send time, and a bound on requests in
flight past which a due request is dropped and counted, never queued behind the others.

Kept apart from the Locust plugin (as window.py is) so that the harness and its tests use it
without importing Locust. Times are seconds on one clock (the plugin's time.time()).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

Distribution = Literal["poisson", "uniform"]
DISTRIBUTIONS: tuple[Distribution, ...] = ("poisson", "uniform")
# A send more than this after its intended time counts as late: the generator fell behind its
# plan (a busy event loop, a saturated core). A few milliseconds of scheduling jitter is normal
# on a loaded machine; 10 ms is about the smallest SLO step anyone reads, so lateness beyond it
# would show in the percentiles as server time.
LATE_AFTER_S = 0.010
# Requests in flight per sender (Locust worker) past which a due request is dropped: far above what
# a loopback server at its capacity holds (rate × latency: 5k/s × 20 ms = 100), so only a stalled
# server reaches it, and low enough that a stalled server does not exhaust the generator's sockets.
DEFAULT_MAX_IN_FLIGHT = 256
INTENDED_KEY = "bench_intended_s"  # the request context's key for its intended send time (plugin, open_user)
S = TypeVar("S")


@dataclass(frozen=True)
class ArrivalSchedule:
    """Intended send times at `rate_per_s` from `start_s` on.

    "uniform": evenly spaced, one every 1/rate s (k6 spaces its arrival-rate starts this way).
    "poisson": exponential gaps of mean 1/rate from a seeded RNG, the arrivals of many
    independent clients (a Poisson process), so the same seed gives the same plan.
    `phase` in [0, 1) shifts a uniform plan by that fraction of a gap (see `share`).
    """

    rate_per_s: float
    distribution: Distribution = "uniform"
    start_s: float = 0.0
    seed: int = 0
    phase: float = 0.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.rate_per_s) and self.rate_per_s > 0):
            raise ValueError(f"rate_per_s must be positive and finite, got {self.rate_per_s}")
        if self.distribution not in DISTRIBUTIONS:
            raise ValueError(f"distribution must be one of {DISTRIBUTIONS}, got {self.distribution!r}")
        if not 0 <= self.phase < 1:
            raise ValueError(f"phase must be in [0, 1), got {self.phase}")

    def times(self) -> Iterator[float]:
        """The intended send times, in increasing order, without end."""
        if self.distribution == "uniform":
            gap = 1.0 / self.rate_per_s
            k = 0
            while True:  # start + k·gap, not a running sum: no drift over millions of sends
                yield self.start_s + (k + self.phase) * gap
                k += 1
        rng = random.Random(self.seed)
        t = self.start_s
        while True:
            t += rng.expovariate(self.rate_per_s)
            yield t

    def times_until(self, end_s: float) -> list[float]:
        """The intended send times before `end_s`."""
        out: list[float] = []
        for t in self.times():
            if t >= end_s:
                return out
            out.append(t)
        return out  # pragma: no cover (times() never ends)

    def share(self, index: int, count: int) -> ArrivalSchedule:
        """The part of this plan that sender `index` of `count` (Locust workers or users) runs.

        Each gets rate/count. Uniform shares are offset by index/count of their gap, so together
        they are evenly spaced at the full rate; Poisson shares get distinct seeds, and
        independent Poisson processes of rate r/count add up to one of rate r (superposition).
        """
        if not 0 <= index < count:
            raise ValueError(f"share index {index} out of range for {count} senders")
        if count == 1:
            return self
        # in units of the share's gap (count times the whole plan's): the whole plan's k-th slot
        phase = (self.phase + index) / count if self.distribution == "uniform" else self.phase
        return ArrivalSchedule(self.rate_per_s / count, self.distribution, self.start_s,
                               seed=self.seed * 1_000_003 + index, phase=phase)


def latency_from_intended_s(intended_s: float, completed_s: float) -> float:
    """A request's latency as its user sees it: from when it was meant to be sent to its answer.

    This includes any time the request waited for the generator or a connection, which is
    what a queueing server makes its clients wait (wrk2's correction of coordinated omission).
    """
    return completed_s - intended_s


def service_time_s(sent_s: float, completed_s: float) -> float:
    """From the actual send to the answer: what a closed client records (blind to queueing)."""
    return completed_s - sent_s


@dataclass
class ArrivalCounts:
    """Offered = sent + dropped; late ⊆ sent. Rates are over the window given to `rates`."""

    offered: int = 0
    sent: int = 0
    late: int = 0
    dropped: int = 0
    completed: int = 0

    def rates(self, window_s: float) -> dict[str, float]:
        if window_s <= 0:
            raise ValueError(f"window_s must be positive, got {window_s}")
        return {
            "offered_rps": self.offered / window_s,
            "sent_rps": self.sent / window_s,
            "achieved_rps": self.completed / window_s,
            "late_fraction": self.late / self.sent if self.sent else 0.0,
            "dropped_fraction": self.dropped / self.offered if self.offered else 0.0,
        }


class ArrivalLedger:
    """The in-flight bound and the counts of one measured window.

    `admit` is asked as each request falls due: it is sent unless `max_in_flight` requests are
    already in flight, in which case it is dropped (k6's rule), so a stalled server never
    makes the generator hold requests back and send them late in a burst. In-flight requests
    are tracked across the whole run (warm-up included), but only requests whose *intended*
    time lies in [window_start_s, window_end_s) are counted, so a window's counts are the plan's.
    """

    def __init__(self, max_in_flight: int, window_start_s: float = -math.inf, window_end_s: float = math.inf,
                 late_after_s: float = LATE_AFTER_S) -> None:
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, got {max_in_flight}")
        self.max_in_flight = max_in_flight
        self.window = (window_start_s, window_end_s)
        self.late_after_s = late_after_s
        self.in_flight = 0
        self.counts = ArrivalCounts()

    def _counted(self, intended_s: float) -> bool:
        return self.window[0] <= intended_s < self.window[1]

    def admit(self, intended_s: float, now_s: float) -> bool:
        """Whether to send the request intended at `intended_s`, now that it is `now_s`."""
        counted = int(self._counted(intended_s))
        self.counts.offered += counted
        if self.in_flight >= self.max_in_flight:
            self.counts.dropped += counted
            return False
        self.in_flight += 1
        self.counts.sent += counted
        # Sent late, it is still timed from its intended time: the lateness is in its latency,
        # and this count says how much of that was the generator's own doing.
        self.counts.late += counted * int(now_s - intended_s > self.late_after_s)
        return True

    def complete(self, intended_s: float, completed_s: float) -> float:
        """Record an answer (or a failure) to an admitted request; its latency from intended."""
        if self.in_flight <= 0:
            raise ValueError("complete() without a matching admit()")
        self.in_flight -= 1
        self.counts.completed += self._counted(intended_s)
        return latency_from_intended_s(intended_s, completed_s)


class SenderPool(Generic[S]):
    """Which long-lived sender sends each admitted request of an open-model user (open_user.py's
    senders are greenlets; this bookkeeping is free of them).

    A greenlet per request costs its creation, start, links and death on every request; a sender
    instead takes request after request. A due request goes to the idle sender that finished last
    (LIFO: a few senders stay busy and warm in the caches, the rest wait), and a new sender starts
    only when none is idle. So a slow answer holds up only its own sender, and there are never more
    senders than requests were once in flight at one time, which the ledgers' bounds cap: admission
    (ArrivalLedger.admit) stays the only rule for what is sent or dropped.
    """

    def __init__(self) -> None:
        self.idle: list[S] = []
        self.started = 0  # senders ever started: the peak of requests in flight at once
        self.closed = False

    def take(self) -> S | None:
        """The sender for an admitted request: an idle one, or None when none is (start one; it is counted)."""
        if self.idle:
            return self.idle.pop()
        self.started += 1
        return None

    def give_back(self, sender: S) -> bool:
        """`sender` has its answer: True if it is to wait for the next request, False once closed (it ends)."""
        if self.closed:
            return False
        self.idle.append(sender)
        return True

    def close(self) -> list[S]:
        """No more requests: the idle senders, to be ended (a busy one ends when it is given back)."""
        self.closed = True
        idle, self.idle = self.idle, []
        return idle


def arrival_figures(counts: ArrivalCounts, window_s: float) -> dict[str, tuple[float, str]]:
    """One open-model step's figures: offered and achieved rates, and what was sent late or dropped."""
    rates = counts.rates(window_s)
    return {
        "offered_rps": (rates["offered_rps"], "req/s"),
        "achieved_rps": (rates["achieved_rps"], "req/s"),
        "late": (float(counts.late), "count"),
        "dropped": (float(counts.dropped), "count"),
        "late_fraction": (rates["late_fraction"], "ratio"),
        "dropped_fraction": (rates["dropped_fraction"], "ratio"),
    }
