"""End to end: open-model users in real Locust against a tiny server that stalls now and then.

Requests that fall due during a stall are still sent on time and wait; timed from their intended
send time, the stall shows in p99 (a closed user would have sent nothing meanwhile: coordinated
omission). Nothing is dropped and the whole plan is achieved.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from tiny_http import ok_server, serving

from harness.loadgen.driver import AGGREGATE, LoadSpec, LocustProcesses, StepSpec
from harness.measure import latency_ms

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

STALL_S = 0.3  # the whole server stops answering this long …
EVERY_S = 1.0  # … once a second
RATE = 100.0

SCENARIO = '''
from harness.loadgen.open_user import OpenUser


class Hit(OpenUser):
    def send(self, context):
        self.client.get("/", name="GET /", context=context)
'''


def stalling_server(stall_s: float) -> ThreadingHTTPServer:
    """Answers every request at once, except that one request a second first holds the lock all
    requests take for `stall_s` (a garbage-collection pause, a blocked event loop)."""
    lock = threading.Lock()
    last = [time.monotonic()]

    def stall_now_and_then() -> None:
        with lock:
            if stall_s and time.monotonic() - last[0] >= EVERY_S:
                last[0] = time.monotonic()
                time.sleep(stall_s)

    return ok_server(stall_now_and_then)


@pytest.fixture
def serving_stalls() -> Iterator[Callable[[float], str]]:
    with ExitStack() as stack:
        yield lambda stall_s: stack.enter_context(serving(stalling_server(stall_s)))


def open_load(tmp_path: Path, host_url: str, name: str):
    scenario = tmp_path / "open_scenario.py"
    scenario.write_text(SCENARIO)
    spec = LoadSpec(scenario_file=scenario, host_url=host_url,
                    steps=[StepSpec(1, 1, 1.0, 3.0, rate_per_s=RATE, max_in_flight=256)],
                    params={"distribution": "uniform", "max_in_flight": 256, "loadgen_workers": 1})  # fmt: skip
    (result,) = LocustProcesses(spec, tmp_path / name).run()
    return result


def test_a_stalled_server_raises_open_model_p99_by_its_stall(tmp_path, serving_stalls):
    steady = open_load(tmp_path, serving_stalls(0.0), "steady")
    stalled = open_load(tmp_path, serving_stalls(STALL_S), "stalled")
    steady_p50 = latency_ms(steady.endpoints[AGGREGATE].histogram)["latency_p50_ms"]
    stalled_p99 = latency_ms(stalled.endpoints[AGGREGATE].histogram)["latency_p99_ms"]
    # Uniform arrivals: the requests due in a stall wait out the rest of it, up to STALL_S; the top 1%
    # of a window holding 3 stalls of 30 requests each waits nearly all of it. (A closed user would
    # see one slow request per stall, 1% of the window's, and its p99 would hardly move.) Only a
    # lower bound: on a busy machine the generator's own lateness, rightly, adds to both runs' p99.
    assert stalled_p99 - steady_p50 >= 0.7 * STALL_S * 1000, (steady_p50, stalled_p99)
    for result in (steady, stalled):
        arrivals = result.arrivals
        assert arrivals is not None and arrivals.dropped == 0
        assert arrivals.offered == pytest.approx(RATE * 3.0, abs=2)
        assert arrivals.completed >= 0.95 * arrivals.offered


def test_a_sweep_ends_at_its_first_step_over_the_slo_and_runs_every_step_otherwise(tmp_path, serving_stalls):
    scenario = tmp_path / "open_scenario.py"
    scenario.write_text(SCENARIO)

    def sweep(host_url: str, name: str):
        spec = LoadSpec(scenario_file=scenario, host_url=host_url,
                        steps=[StepSpec(1, 1, 0.5, 1.5, rate_per_s=RATE, max_in_flight=256)] * 3,
                        params={"distribution": "uniform", "max_in_flight": 256, "loadgen_workers": 1},
                        stop_p99_ms=100.0)  # fmt: skip
        started = time.monotonic()
        return LocustProcesses(spec, tmp_path / name).run(), time.monotonic() - started

    stalled, stalled_s = sweep(serving_stalls(STALL_S), "stalled")  # p99 near the 300 ms stall: over 100
    assert len(stalled) == 1 and latency_ms(stalled[0].endpoints[AGGREGATE].histogram)["latency_p99_ms"] >= 100
    steady, steady_s = sweep(serving_stalls(0.0), "steady")
    assert len(steady) == 3
    assert stalled_s < steady_s  # the two steps not run cost no time (4 s of the 6)
