"""The measured window of one Locust worker: HDR histograms and counts, free of gevent.

Kept apart from the plugin so the harness and its tests can use it without importing Locust.
"""

from __future__ import annotations

import itertools
import os
import socket
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from hdrh.histogram import HdrHistogram

from harness.loadgen.arrival import ArrivalLedger, ArrivalSchedule, Distribution

# 1 µs to 100 s at 3 significant digits: 0.1% value precision, a few hundred kB per histogram.
LOWEST_US, HIGHEST_US, DIGITS = 1, 100_000_000, 3

# Distinct error messages a window keeps; the rest are counted under OTHER_ERRORS, so a server that
# puts an id or a time in each error cannot grow a worker's memory with the run's length.
MAX_ERROR_KEYS = 100
OTHER_ERRORS = f"other errors (past {MAX_ERROR_KEYS} distinct messages)"

# A request still unanswered at a window's end counts as not answered once it has waited this
# long. A loopback answer takes milliseconds; without this floor every request merely in flight
# at the end would count, a share of about R/(D + R) for latency R and window D (1% at R = 30 ms
# and D = 3 s), and "not answered" would measure latency instead of stalls.
STALLED_AFTER_S = 1.0

# How much longer than its tail the last step may run while a worker's report is still missing.
# A worker's clock starts when the master's spawn message reaches it, so under CPU contention its
# report (sent at the end of its own schedule) can leave after the master's tail has ended.
REPORT_WAIT_S = 10.0


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS)


# An HDR histogram keeps values below 2^_EXACT_BITS exact and halves its resolution with each doubling
# above (2^11 at 3 digits from 1 µs): a value's bucket is the value with its bits below that cut.
_EXACT_BITS = new_histogram().sub_bucket_half_count_magnitude + 1
assert LOWEST_US == 1  # unit magnitude 0: buckets start at 1 µs


def bucket_us(value_us: int) -> int:
    """The lowest value of `value_us`'s HDR bucket: recording either into a histogram counts the same."""
    shift = value_us.bit_length() - _EXACT_BITS
    return value_us if shift <= 0 else (value_us >> shift) << shift


def latency_bucket_us(response_time_ms: float) -> int:
    """One latency's HDR bucket (`bucket_us`), in µs, clamped to the histogram's range."""
    return bucket_us(min(HIGHEST_US, max(LOWEST_US, round(response_time_ms * 1000))))


def fold(counts: Counter[int], histogram: HdrHistogram) -> None:
    """Move latencies counted per bucket into `histogram` (see WindowRecorder._latency_counts)."""
    for value_us, n in counts.items():
        histogram.record_value(value_us, n)
    counts.clear()


def encode(histogram: HdrHistogram | None) -> str | None:
    """A histogram as a report carries it (HdrHistogram's base64); None when it holds nothing."""
    return histogram.encode().decode() if histogram is not None and histogram.get_total_count() else None


def count_error(errors: Counter[str], name: str, exception: BaseException) -> None:
    """One failed request's message, counted; past MAX_ERROR_KEYS distinct ones under OTHER_ERRORS."""
    key = f"{name}: {type(exception).__name__}: {str(exception)[:120]}"
    errors[key if key in errors or len(errors) < MAX_ERROR_KEYS else OTHER_ERRORS] += 1


AGGREGATE = "Aggregated"  # the name under which every request name's results are summed


@dataclass
class EndpointResult:
    """One request name's results, merged over the workers: counts, and latencies in µs."""

    ok: int
    failed: int
    histogram: HdrHistogram | None


class WindowRecorder:
    """Per-worker state of one step: histograms and counts of requests completed inside its window,
    and of requests pending (sent, stalled, not answered) at its end.

    `offset_s` is when the step begins, counted from the start of the Locust run.
    """

    def __init__(self, warmup_s: float, duration_s: float, offset_s: float = 0.0,
                 stalled_after_s: float = STALLED_AFTER_S) -> None:
        self.offset_s = offset_s
        self.stalled_after_s = stalled_after_s
        self.warmup_s = warmup_s
        self.duration_s = duration_s
        self.window_start = float("inf")
        self.window_end = float("inf")
        # Latencies counted per HDR bucket (`bucket_us`) and folded into HDR histograms when read
        # (`histograms`): a dict increment costs a tenth of HdrHistogram.record_value's pure-Python
        # index arithmetic, on the load generator's hottest path; the histograms come out the same, and
        # a name holds at most the histogram's buckets (18,432), however long the window.
        self._latency_counts: dict[str, Counter[int]] = {}
        self._histograms: dict[str, HdrHistogram] = {}
        self.ok: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.pending = 0  # stalled at the window's end, settled after it (see `settle`)
        # What scenario code reports besides requests (harness.loadgen.measures): happenings counted
        # inside the window, and levels (e.g. open WebSockets) as their lowest reading in it.
        self.counts: Counter[str] = Counter()
        self.gauges_min: dict[str, float] = {}
        # Open model (a step with a rate): what was offered, sent, late, dropped; counted by intended time.
        self.arrivals: ArrivalLedger | None = None

    def start(self, now: float) -> None:
        self.window_start = now + self.offset_s + self.warmup_s
        self.window_end = self.window_start + self.duration_s
        if self.arrivals is not None:
            self.arrivals.window = (self.window_start, self.window_end)

    @property
    def end_offset_s(self) -> float:
        """When the step's window ends, counted from the start of the Locust run."""
        return self.offset_s + self.warmup_s + self.duration_s

    @property
    def span(self) -> tuple[float, float]:
        """The whole step, warm-up included (after `start`)."""
        return self.window_start - self.warmup_s, self.window_end

    def record(self, name: str, response_time_ms: float, exception: BaseException | None, now: float) -> None:
        if not self.window_start <= now < self.window_end:
            return
        if exception is not None:
            # Failed requests are counted, not timed: a refused connection answers fast and
            # would make latency look better than it is.
            self.failed[name] += 1
            count_error(self.errors, name, exception)
            return
        self.ok[name] += 1
        counts = self._latency_counts.get(name)
        if counts is None:
            counts = self._latency_counts[name] = Counter()
        counts[latency_bucket_us(response_time_ms)] += 1

    def held_latency_keys(self) -> int:
        """Latency counts held but not yet folded into the histograms (bounded by their buckets)."""
        return sum(len(counts) for counts in self._latency_counts.values())

    def p99_ms(self) -> float | None:
        """The window's p99 latency over every request name, as the harness reads it from the report
        (harness.measure, the aggregate's histogram); None when nothing was answered."""
        merged = new_histogram()
        for histogram in self.histograms.values():
            merged.add(histogram)
        return merged.get_value_at_percentile(99.0) / 1000 if merged.get_total_count() else None

    @property
    def histograms(self) -> dict[str, HdrHistogram]:
        """The latencies recorded so far, in µs, an HDR histogram per request name."""
        for name, counts in self._latency_counts.items():
            hist = self._histograms.get(name)
            if hist is None:
                hist = self._histograms[name] = new_histogram()
            fold(counts, hist)
        return self._histograms

    def count(self, name: str, n: float, now: float) -> None:
        if self.window_start <= now < self.window_end:
            self.counts[name] += n

    def gauge(self, name: str, value: float, now: float) -> None:
        """A level read at `now`; the window keeps its lowest, the level held throughout."""
        if self.window_start <= now < self.window_end:
            self.gauges_min[name] = min(value, self.gauges_min.get(name, value))

    def stalled_at_end(self, sent_at: float, settled_at: float) -> bool:
        """Sent at least `stalled_after_s` before the window's end and neither answered nor failed by then.

        Whenever it was sent (a request stalled since the warm-up counts too): the ok and failed
        counts likewise take every request that completes inside the window, whenever sent.
        """
        return sent_at <= self.window_end - self.stalled_after_s and settled_at >= self.window_end

    def settle(self, sent_at: float, settled_at: float) -> None:
        """One request has its answer or its error (the `request` event records which)."""
        if self.stalled_at_end(sent_at, settled_at):
            self.pending += 1

    def payload(self, unsettled: Iterable[float] = (), now: float = float("inf")) -> dict[str, Any]:
        """`unsettled`: when each request still waiting at `now` was sent."""
        names = sorted(set(self.ok) | set(self.failed))
        histograms = self.histograms
        pending = self.pending + sum(self.stalled_at_end(sent_at, now) for sent_at in unsettled)
        return {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "window": [self.window_start, self.window_end],
            "pending": pending,
            "requests": {
                name: {
                    "ok": self.ok[name],
                    "failed": self.failed[name],
                    "histogram": histograms[name].encode().decode() if name in histograms else None,
                }
                for name in names
            },
            "errors": dict(self.errors.most_common(20)),
            "counts": dict(self.counts),
            "gauges_min": dict(self.gauges_min),
            "arrivals": None if self.arrivals is None else vars(self.arrivals.counts),
        }


class StepSchedule:
    """The steps of one Locust run, back to back: each holds its users for warm-up + duration.

    One Locust run serves every step of a sweep (a LoadTestShape changes the user count), so
    a step costs its own time only, not a Locust start-up each.
    """

    def __init__(self, steps: list[dict[str, Any]]) -> None:
        self.steps = steps
        self.recorders: list[WindowRecorder] = []
        offset = 0.0
        for step in steps:
            recorder = WindowRecorder(float(step["warmup_s"]), float(step["duration_s"]), offset)
            if step.get("rate_per_s"):
                recorder.arrivals = ArrivalLedger(int(step.get("max_in_flight") or 1))
            self.recorders.append(recorder)
            offset += float(step["warmup_s"]) + float(step["duration_s"])
        self.total_s = offset
        self.stopped_after: int | None = None  # the step after which the sweep ended early (`stop_after`)
        self._stalled_after_s = min((r.stalled_after_s for r in self.recorders), default=0.0)
        self._in_flight: dict[int, float] = {}  # token -> when the request was sent
        self._tokens = itertools.count()

    def start(self, now: float) -> None:
        for recorder in self.recorders:
            recorder.start(now)

    def record(self, name: str, response_time_ms: float, exception: BaseException | None, now: float) -> None:
        for recorder in self.recorders:  # windows are disjoint: at most one records it
            if recorder.window_start <= now < recorder.window_end:
                recorder.record(name, response_time_ms, exception, now)
                return

    def count(self, name: str, n: float, now: float) -> None:
        for recorder in self.recorders:
            recorder.count(name, n, now)

    def gauge(self, name: str, value: float, now: float) -> None:
        for recorder in self.recorders:
            recorder.gauge(name, value, now)

    def sent(self, now: float) -> int:
        """A request goes out; returns the token to settle it with."""
        token = next(self._tokens)
        self._in_flight[token] = now
        return token

    def settled(self, token: int, now: float) -> None:
        """The request of `token` has its answer or its error."""
        sent_at = self._in_flight.pop(token)
        if now - sent_at < self._stalled_after_s:  # too quick to be stalled at any window's end: nearly all
            return
        for recorder in self.recorders:
            recorder.settle(sent_at, now)

    def intended_times(self, index: int, count: int, distribution: Distribution, seed: int = 0) -> Iterator[float]:
        """Sender `index` of `count`'s intended send times through every open step, warm-up included:
        its share of each step's rate (ArrivalSchedule.share), so all senders together offer the rate."""
        for number, (recorder, step) in enumerate(zip(self.recorders, self.steps, strict=True)):
            if self.stopped_after is not None and number > self.stopped_after:
                return
            if recorder.arrivals is None:
                continue
            start_s, end_s = recorder.span
            plan = ArrivalSchedule(float(step["rate_per_s"]), distribution, start_s, seed=seed * 1009 + number)
            yield from plan.share(index, count).times_until(end_s)

    def _ledger(self, intended_s: float) -> ArrivalLedger:
        for recorder in self.recorders:
            if recorder.arrivals is not None and recorder.span[0] <= intended_s < recorder.span[1]:
                return recorder.arrivals
        raise ValueError(f"no open step holds the intended time {intended_s}")

    def admit(self, intended_s: float, now: float) -> bool:
        """Whether to send the request intended at `intended_s` (its step's ledger: in-flight bound, counts).
        Each step bounds its own requests in flight, so for a moment after a step change the previous
        step's last requests are not counted against the new step's bound."""
        return self._ledger(intended_s).admit(intended_s, now)

    def complete(self, intended_s: float, now: float) -> float:
        """An admitted request has its answer or its error; its latency from its intended time, in s."""
        return self._ledger(intended_s).complete(intended_s, now)

    def failed(self, index: int, stop_p99_ms: float) -> bool:
        """Whether step `index`'s window (over) reached `stop_p99_ms` at p99."""
        p99 = self.recorders[index].p99_ms()
        return p99 is not None and p99 >= stop_p99_ms

    def stop_after(self, index: int) -> None:
        """End the sweep with step `index`: the later steps are not run, nor reported."""
        self.stopped_after = index
        recorder = self.recorders[index]
        self.total_s = recorder.end_offset_s

    @property
    def reported(self) -> list[WindowRecorder]:
        """The steps a report covers: all, or those up to where the sweep stopped."""
        return self.recorders if self.stopped_after is None else self.recorders[: self.stopped_after + 1]

    def users_at(self, elapsed_s: float, tail_s: float, reports_missing: bool = False) -> tuple[int, float] | None:
        """(users, spawn rate) of the step running `elapsed_s` into the run; None when done.

        The last step's users keep running for `tail_s` after its window, so the workers'
        reports reach the master before the run ends (and the window's end sees no ramp-down);
        while `reports_missing`, up to REPORT_WAIT_S longer.
        """
        for recorder, step in zip(self.reported, self.steps, strict=False):
            if elapsed_s < recorder.end_offset_s:
                return int(step["users"]), float(step["spawn_rate"])
        tail_end_s = self.total_s + tail_s + (REPORT_WAIT_S if reports_missing else 0.0)
        if self.steps and elapsed_s < tail_end_s:
            last = self.steps[len(self.reported) - 1]
            return int(last["users"]), float(last["spawn_rate"])
        return None

    def payload(self, now: float) -> dict[str, Any]:
        unsettled = list(self._in_flight.values())
        return {"steps": [recorder.payload(unsettled, now) for recorder in self.reported]}
