"""Paired slices: one Locust run alternates its load between two targets' servers; free of gevent.

Both servers run at once and every user keeps a connection to each; the load goes to one target
for `slice_s`, then to the other. Two adjacent slices make a pair, in alternating order (pair 1:
A then B, pair 2: B then A, ...), so a change of the host's speed that lasts a few seconds falls
on both halves of a pair and cancels in its ratio. The layout, from the start of the Locust run:

    warm-up (warmup_s, not counted) | slice 0 | slice 1 | ... | slice 2·pairs − 1 | tail

In the warm-up the load alternates too, on the same grid counted back from the warm-up's end
(its last slice goes to B, so the first counted slice, A, follows a switch), so that both servers'
JITs and caches warm alike. After the last slice the load stays on the last slice's target until
Locust stops.

Each request counts for the slice in which it was SENT, and goes to that slice's target: a
request still in flight when its slice ends counts there, for its own target, never for the next
slice's. A slice's first `settle_s` is not counted: then the previous target's last requests are
still finishing (and its server still busy with them), while the new target is only taking over.
A slice's figures are thus those of the requests sent in its last `slice_s − settle_s` (`counted_s`).
"""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

from harness.loadgen.trust import decode_histogram
from harness.loadgen.window import (
    AGGREGATE,
    STALLED_AFTER_S,
    EndpointResult,
    count_error,
    encode,
    fold,
    latency_bucket_us,
    new_histogram,
)

# The request context's key for when the plugin sent (and aimed) a request, time.time(): the `request`
# event counts it by that time, so a request aimed in one slice is never counted in the next.
SENT_KEY = "bench_slice_sent_s"

# Error messages a slice's report keeps (the most frequent); the rest are in its `failed` count.
REPORTED_ERRORS = 20


@dataclass(frozen=True)
class SliceTarget:
    name: str
    base_url: str  # scheme, host and port, as Locust's --host: "http://127.0.0.1:8001"


@dataclass(frozen=True)
class SlicePlan:
    targets: tuple[SliceTarget, SliceTarget]  # A, B
    slice_s: float
    settle_s: float  # not counted at each slice's start
    pairs: int
    warmup_s: float = 0.0

    def __post_init__(self) -> None:
        if len(self.targets) != 2 or self.targets[0].name == self.targets[1].name:
            raise ValueError("a slice plan needs two targets of different names")
        if not 0 <= self.settle_s < self.slice_s or self.pairs < 1 or self.warmup_s < 0:
            raise ValueError(f"a slice plan needs 0 <= settle_s < slice_s, pairs >= 1, warmup_s >= 0: {self}")

    @property
    def slices(self) -> int:
        return 2 * self.pairs

    @property
    def counted_s(self) -> float:
        return self.slice_s - self.settle_s

    @property
    def total_s(self) -> float:
        """From the run's start to the last slice's end."""
        return self.warmup_s + self.slices * self.slice_s

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> SlicePlan:
        data = json.loads(text)
        targets = tuple(SliceTarget(str(t["name"]), str(t["base_url"])) for t in data["targets"])
        return cls(targets, float(data["slice_s"]), float(data["settle_s"]), int(data["pairs"]),  # type: ignore[arg-type]
                   float(data["warmup_s"]))

    def slot(self, elapsed_s: float) -> int:
        """The slice running `elapsed_s` into the run: 0 .. slices − 1; negative in the warm-up (−1 its
        last slice); the last slice's index after it."""
        return min(self.slices - 1, math.floor((elapsed_s - self.warmup_s) / self.slice_s))

    def target_index(self, slot: int) -> int:
        """0 (A) or 1 (B): pair p is (A, B) if p is even, else (B, A); the warm-up ends on B."""
        if slot < 0:
            return slot % 2  # −1 → B, −2 → A, ...
        pair, position = divmod(slot, 2)
        return position if pair % 2 == 0 else 1 - position

    def target_at(self, elapsed_s: float) -> SliceTarget:
        """Where a request sent `elapsed_s` into the run goes."""
        return self.targets[self.target_index(self.slot(elapsed_s))]

    def bounds_s(self, index: int) -> tuple[float, float]:
        """Slice `index`'s start and end, from the run's start."""
        start_s = self.warmup_s + index * self.slice_s
        return start_s, start_s + self.slice_s

    def counted_index(self, elapsed_s: float) -> int | None:
        """The slice that counts a request sent `elapsed_s` into the run; None in the warm-up, a
        slice's settle time, or after the last slice."""
        if not self.warmup_s <= elapsed_s < self.total_s:
            return None
        index = self.slot(elapsed_s)
        return index if elapsed_s >= self.bounds_s(index)[0] + self.settle_s else None


class SliceTally:
    """One slice's counted requests on one worker."""

    def __init__(self) -> None:
        self.ok = 0
        self.failed = 0
        self.stalled = 0
        self.errors: Counter[str] = Counter()
        self.latency_counts: Counter[int] = Counter()  # per HDR bucket, folded when reported (as WindowRecorder)


class SliceRecorder:
    """Per-worker state of a sliced run: where each request goes, and each slice's counted requests.

    Counted per slice: ok, failed (with their messages), the latency histogram of all request names,
    and `stalled`: requests neither answered nor failed by the slice's end + `stalled_after_s`, or
    still waiting when the report is made (after the last slice's drain, see the plugin); a stalled
    request answered later is in `ok` or `failed` too. Pooled over all counted slices: a histogram
    per target and request name.
    """

    def __init__(self, plan: SlicePlan, stalled_after_s: float = STALLED_AFTER_S) -> None:
        self.plan = plan
        self.stalled_after_s = stalled_after_s
        self.started_at = math.nan  # time.time() at the run's start (`start`)
        self.tallies = [SliceTally() for _ in range(plan.slices)]
        self.endpoint_ok: Counter[tuple[str, str]] = Counter()  # (target, request name)
        self.endpoint_failed: Counter[tuple[str, str]] = Counter()
        self._endpoint_latency: dict[tuple[str, str], Counter[int]] = {}
        self._in_flight: dict[int, tuple[int, float]] = {}  # token -> (slice, sent at): counted requests only
        self._tokens = itertools.count()

    def start(self, now: float) -> None:
        self.started_at = now

    def url(self, path: str, sent_at: float) -> str:
        """The absolute URL of `path` ("/json") at the target of the slice running at `sent_at`."""
        return self.plan.target_at(sent_at - self.started_at).base_url + path

    def counted_index(self, sent_at: float) -> int | None:
        return self.plan.counted_index(sent_at - self.started_at)

    def target_name(self, now: float) -> str:
        """The name of the target a request sent at `now` goes to; "" before the run's start."""
        return "" if math.isnan(self.started_at) else self.plan.target_at(now - self.started_at).name

    def sent(self, sent_at: float) -> int | None:
        """A request goes out; a token to settle it with if a slice counts it, else None."""
        index = self.counted_index(sent_at)
        if index is None:
            return None
        token = next(self._tokens)
        self._in_flight[token] = (index, sent_at)
        return token

    def settled(self, token: int | None, now: float) -> None:
        """The request of `token` has its answer or its error."""
        if token is None:
            return
        index, _ = self._in_flight.pop(token)
        if now >= self._deadline(index):
            self.tallies[index].stalled += 1

    @property
    def in_flight(self) -> int:
        """Counted requests still waiting for their answer."""
        return len(self._in_flight)

    def _deadline(self, index: int) -> float:
        return self.started_at + self.plan.bounds_s(index)[1] + self.stalled_after_s

    def record(self, name: str, response_time_ms: float, exception: BaseException | None, sent_at: float) -> None:
        """One completed request (Locust's `request` event), counted by when it was sent."""
        index = self.counted_index(sent_at)
        if index is None:
            return
        tally = self.tallies[index]
        key = (self.plan.targets[self.plan.target_index(index)].name, name)
        if exception is not None:  # counted, not timed (as WindowRecorder)
            tally.failed += 1
            count_error(tally.errors, name, exception)
            self.endpoint_failed[key] += 1
            return
        tally.ok += 1
        bucket = latency_bucket_us(response_time_ms)
        tally.latency_counts[bucket] += 1
        self.endpoint_ok[key] += 1
        self._endpoint_latency.setdefault(key, Counter())[bucket] += 1

    def payload(self, now: float) -> dict[str, Any]:
        """JSON-able; requests still waiting at `now` count as stalled in their slices."""
        stalled = Counter(index for index, _ in self._in_flight.values())
        return {
            "started_at": self.started_at,
            "slices": [self._slice_payload(index, tally, stalled[index]) for index, tally in enumerate(self.tallies)],
            "endpoints": self._endpoints_payload(),
        }

    def _slice_payload(self, index: int, tally: SliceTally, waiting: int) -> dict[str, Any]:
        histogram = new_histogram()
        fold(tally.latency_counts, histogram)
        start_s, end_s = self.plan.bounds_s(index)
        return {
            "target": self.plan.targets[self.plan.target_index(index)].name,
            "pair": index // 2 + 1,
            "position": index % 2,
            "start_offset_s": start_s,
            "end_offset_s": end_s,
            "counted_s": self.plan.counted_s,
            "ok": tally.ok,
            "failed": tally.failed,
            "stalled": tally.stalled + waiting,
            "errors": dict(tally.errors.most_common(REPORTED_ERRORS)),
            "histogram": encode(histogram),
        }

    def _endpoints_payload(self) -> dict[str, dict[str, dict[str, Any]]]:
        """target -> request name -> {ok, failed, histogram}, the form of a window's "requests"."""
        entries: dict[str, dict[str, dict[str, Any]]] = {target.name: {} for target in self.plan.targets}
        for key in sorted(set(self.endpoint_ok) | set(self.endpoint_failed)):
            histogram = new_histogram()
            fold(self._endpoint_latency.get(key, Counter()), histogram)
            entries[key[0]][key[1]] = {"ok": self.endpoint_ok[key], "failed": self.endpoint_failed[key],
                                       "histogram": encode(histogram)}  # fmt: skip
        return entries


# --- the harness's side: the workers' payloads merged -------------------------------------------------


@dataclass
class SliceResult:
    """One slice, summed over the workers. Times are time.time(): the harness lines its samples up with them."""

    index: int  # 0-based, over the counted slices
    target: str
    pair: int  # 1-based
    position: int  # 0: first in its pair, 1: second
    start_s: float  # the earliest worker's start of this slice
    counted_start_s: float  # the earliest worker's start of counting in it (start_s + settle_s)
    end_s: float  # the latest worker's end of it
    counted_s: float  # each worker counted the requests it sent in its last counted_s (after settle_s)
    ok: int = 0
    failed: int = 0
    stalled: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    histogram: HdrHistogram | None = None  # latencies of the ok requests, all request names, µs


@dataclass
class SlicedLoad:
    plan: SlicePlan
    slices: list[SliceResult]
    # target -> request name (plus AGGREGATE) -> results pooled over that target's counted slices
    endpoints: dict[str, dict[str, EndpointResult]]
    workers_reported: int
    skew_s: float  # how much later the last worker's run started than the first's (slices' edges blur by it)


def merge_slices(plan: SlicePlan, payloads: list[dict[str, Any]]) -> SlicedLoad:
    """Sum the workers' slices and add their histograms; ValueError if a payload does not fit the plan."""
    if not payloads:
        raise ValueError("no worker reported its slices")
    starts = [float(payload["started_at"]) for payload in payloads]
    entries = [list(payload["slices"]) for payload in payloads]
    if any(len(slices) != plan.slices for slices in entries):
        raise ValueError(f"a worker reported a number of slices other than the plan's {plan.slices}")
    slices = [_slice_result(plan, index, starts, [worker[index] for worker in entries])
              for index in range(plan.slices)]
    endpoints: dict[str, dict[str, EndpointResult]] = {target.name: {} for target in plan.targets}
    for payload in payloads:
        for target, names in dict(payload["endpoints"]).items():
            if target not in endpoints:
                raise ValueError(f"a worker reported slices of an unknown target {str(target)[:80]!r}")
            for name, entry in dict(names).items():
                add_entry(endpoints[target], name, entry)
                add_entry(endpoints[target], AGGREGATE, entry)
    for totals in endpoints.values():
        totals.setdefault(AGGREGATE, EndpointResult(0, 0, None))
    return SlicedLoad(plan, slices, endpoints, len(payloads), max(starts) - min(starts))


def _slice_result(plan: SlicePlan, index: int, starts: list[float], entries: list[dict[str, Any]]) -> SliceResult:
    """Slice `index` from each worker's entry of it."""
    start_s, end_s = plan.bounds_s(index)
    result = SliceResult(index=index, target=plan.targets[plan.target_index(index)].name, pair=index // 2 + 1,
                         position=index % 2, start_s=min(starts) + start_s,
                         counted_start_s=min(starts) + start_s + plan.settle_s, end_s=max(starts) + end_s,
                         counted_s=plan.counted_s)  # fmt: skip
    for entry in entries:
        _add_slice(result, entry)
    return result


def _add_slice(result: SliceResult, entry: dict[str, Any]) -> None:
    if entry["target"] != result.target:
        raise ValueError(f"slice {result.index}: a worker sent it to {str(entry['target'])[:80]!r}, "
                         f"the plan to {result.target!r}")
    result.ok += int(entry["ok"])
    result.failed += int(entry["failed"])
    result.stalled += int(entry["stalled"])
    for message, count in dict(entry["errors"]).items():
        result.errors[str(message)] = result.errors.get(str(message), 0) + int(count)
    result.histogram = _added(result.histogram, entry.get("histogram"))


def add_entry(endpoints: dict[str, EndpointResult], name: str, entry: dict[str, Any]) -> None:
    """Add one report's {ok, failed, histogram} of a request name to `endpoints[name]`."""
    current = endpoints.setdefault(name, EndpointResult(0, 0, None))
    current.ok += int(entry["ok"])
    current.failed += int(entry["failed"])
    current.histogram = _added(current.histogram, entry.get("histogram"))


def _added(histogram: HdrHistogram | None, encoded: Any) -> HdrHistogram | None:
    if not encoded:
        return histogram
    decoded = decode_histogram(encoded)  # bounded: what it decompresses and allocates (trust.check_histogram)
    if histogram is None:
        return decoded
    histogram.add(decoded)
    return histogram
