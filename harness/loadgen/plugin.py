"""Loaded into every Locust process next to the scenario file (`locust -f scenario.py,plugin.py`).

Workers record each completed request's latency in microseconds in an HDR histogram per
request name, but only inside the measured window (warm-up excluded). At the window's end
each worker sends its histograms to the master as a custom message, so workers on other
machines would work unchanged; the master merges nothing itself and writes what it received
to the file the driver reads. Locust's own percentiles are rounded to whole milliseconds,
too coarse for loopback latencies, hence the histograms.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections import Counter
from typing import Any

import gevent
from hdrh.histogram import HdrHistogram
from locust import events
from locust.runners import MasterRunner, WorkerRunner

from harness.loadgen.params import DURATION_ENV, OUTPUT_ENV, WARMUP_ENV

MESSAGE = "bench_window_result"

# 1 µs to 100 s at 3 significant digits: 0.1% value precision, a few hundred kB per histogram.
LOWEST_US, HIGHEST_US, DIGITS = 1, 100_000_000, 3


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS)


class WindowRecorder:
    """Per-worker state: histograms and counts of requests completed inside the window."""

    def __init__(self, warmup_s: float, duration_s: float) -> None:
        self.warmup_s = warmup_s
        self.duration_s = duration_s
        self.window_start = float("inf")
        self.window_end = float("inf")
        self.histograms: dict[str, HdrHistogram] = {}
        self.ok: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()

    def start(self, now: float) -> None:
        self.window_start = now + self.warmup_s
        self.window_end = self.window_start + self.duration_s

    def record(self, name: str, response_time_ms: float, exception: BaseException | None, now: float) -> None:
        if not self.window_start <= now < self.window_end:
            return
        if exception is not None:
            # Failed requests are counted, not timed: a refused connection answers fast and
            # would make latency look better than it is.
            self.failed[name] += 1
            self.errors[f"{name}: {type(exception).__name__}: {str(exception)[:120]}"] += 1
            return
        self.ok[name] += 1
        hist = self.histograms.get(name)
        if hist is None:
            hist = self.histograms[name] = new_histogram()
        hist.record_value(min(HIGHEST_US, max(LOWEST_US, round(response_time_ms * 1000))))

    def payload(self) -> dict[str, Any]:
        names = sorted(set(self.ok) | set(self.failed))
        return {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "window": [self.window_start, self.window_end],
            "requests": {
                name: {
                    "ok": self.ok[name],
                    "failed": self.failed[name],
                    "histogram": self.histograms[name].encode().decode() if name in self.histograms else None,
                }
                for name in names
            },
            "errors": dict(self.errors.most_common(20)),
        }


_recorder: WindowRecorder | None = None
_received: list[dict[str, Any]] = []


def _write_output(environment: Any) -> None:
    path = os.environ.get(OUTPUT_ENV)
    if not path:
        return
    expected = getattr(environment.parsed_options, "expect_workers", 1)
    tmp = f"{path}.tmp"
    with open(tmp, "w") as fh:
        json.dump({"workers_expected": expected, "workers": _received}, fh)
    os.replace(tmp, path)


@events.init.add_listener
def _on_init(environment: Any, **_: Any) -> None:
    global _recorder
    runner = environment.runner
    if isinstance(runner, MasterRunner):

        def on_result(environment: Any, msg: Any, **_: Any) -> None:
            _received.append(msg.data)
            _write_output(environment)  # rewritten as each worker reports; complete when all have

        runner.register_message(MESSAGE, on_result)
    elif isinstance(runner, WorkerRunner):
        _recorder = WindowRecorder(float(os.environ[WARMUP_ENV]), float(os.environ[DURATION_ENV]))


@events.test_start.add_listener
def _on_test_start(environment: Any, **_: Any) -> None:
    if _recorder is None or not isinstance(environment.runner, WorkerRunner):
        return
    _recorder.start(time.time())

    def send() -> None:
        environment.runner.send_message(MESSAGE, _recorder.payload())

    # Small grace after the window so the last in-window completions are counted.
    gevent.spawn_later(_recorder.warmup_s + _recorder.duration_s + 0.05, send)


@events.request.add_listener
def _on_request(name: str, response_time: float, exception: BaseException | None = None, **_: Any) -> None:
    if _recorder is not None:
        _recorder.record(name, response_time, exception, time.time())
