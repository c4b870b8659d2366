"""Counts and gauges that scenario code reports to the measured windows, besides timed requests.

Locust's `request` event times requests; a scenario that holds state (open WebSockets) or counts
happenings that are not requests (messages published, messages lost) reports them here:

    from harness.loadgen import measures
    measures.count("messages_lost", 3)
    measures.gauge("clients_held", 120)

Inside a Locust worker the plugin connects these to its step schedule (`connect`), so that each
step's window keeps the counts made inside it and each gauge's lowest reading in it; elsewhere
(the harness, tests) they go nowhere. Free of gevent, like harness.loadgen.window.
"""

from __future__ import annotations

import time
from typing import Protocol


class Sink(Protocol):
    def count(self, name: str, n: float, now: float) -> None: ...

    def gauge(self, name: str, value: float, now: float) -> None: ...


_sink: Sink | None = None


def connect(sink: Sink | None) -> None:
    """The plugin's step schedule on a Locust worker; None disconnects."""
    global _sink
    _sink = sink


def connected() -> Sink | None:
    """The step schedule of this Locust worker (the open-model users send on it); None elsewhere."""
    return _sink


def count(name: str, n: float = 1) -> None:
    if _sink is not None:
        _sink.count(name, n, time.time())


def gauge(name: str, value: float) -> None:
    if _sink is not None:
        _sink.gauge(name, value, time.time())


def window_figures(counts: dict[str, float], gauges_min: dict[str, float], duration_s: float
                   ) -> dict[str, tuple[float, str]]:
    """One step's figures: each count as NAME (count) and NAME_per_s over the window, each gauge as
    its lowest reading in the window, NAME (count)."""
    figures: dict[str, tuple[float, str]] = {}
    for name, n in counts.items():
        figures[name] = (n, "count")
        figures[f"{name}_per_s"] = (n / duration_s, "1/s")
    for name, value in gauges_min.items():
        figures[name] = (value, "count")
    return figures
