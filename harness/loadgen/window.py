"""The measured window of one Locust worker: HDR histograms and counts, free of gevent.

Kept apart from the plugin so the harness and its tests can use it without importing Locust.
"""

from __future__ import annotations

import os
import socket
from collections import Counter
from typing import Any

from hdrh.histogram import HdrHistogram

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
