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
import time
from typing import Any

import gevent
from locust import events
from locust.runners import MasterRunner, WorkerRunner

from harness.loadgen.params import DURATION_ENV, OUTPUT_ENV, WARMUP_ENV
from harness.loadgen.window import WindowRecorder

MESSAGE = "bench_window_result"


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
