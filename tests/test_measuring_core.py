"""The measuring core without servers or Locust: a fake runtime, fake load results, the sampler on real processes.

Pinned down here: the figures and flags of one step (`_record_step`), one Locust run of a trial
(`_measure_run`), a whole load trial (`run_trial`), a run's trial loop (`PreparedRun.execute`),
and the `Sampler` itself. The fakes enter where the code takes its collaborators: the runtime,
the load generator and the contract check are fields of `TrialContext`, the runtime and the
behaviour checks fields of `PreparedRun`; a fake scenario kind enters through the kinds' registry.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import subprocess
import sys
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

import psutil
import pytest
from hdrh.histogram import HdrHistogram
from pydantic import BaseModel, PositiveInt

from harness import run as run_module
from harness.config import RunConfig
from harness.errors import BenchError
from harness.kinds import load
from harness.kinds.base import Placement, TrialContext, TrialOutcome
from harness.loadgen.driver import AGGREGATE, EndpointResult, LoadResult, LoadSpec, StepSpec
from harness.machine.disturbance import MAX_RERUNS
from harness.machine.environment import RuntimeDescription
from harness.results import ResultsStore, RunResults
from harness.runtime.options import LaunchOptions, RuntimeSettings
from harness.runtime.server import Server, StartTimings
from harness.sampler import MB, Reading, Sampler
from harness.scenario import KINDS, Scenario
from harness.targets import NativeSpec, Target

NO_PORT = 9  # the discard port: nothing here connects to it, the fakes open no socket
TARGETS = [Target(name=name, display_name=name.title(), language="none", native=NativeSpec(command=["true"]))
           for name in ("alpha", "beta")]  # fmt: skip


# --- fakes ------------------------------------------------------------------------------------


def histogram(latency_us: int, count: int) -> HdrHistogram:
    hist = HdrHistogram(1, 100_000_000, 3)  # as the Locust plugin makes them (µs, 3 digits)
    if count:
        hist.record_value(latency_us, count)
    return hist


def load_result(endpoints: dict[str, tuple[int, int, int]], duration_s: float = 2.0,
                window_s: tuple[float, float] = (100.0, 102.0), errors: dict[str, int] | None = None) -> LoadResult:
    """A step's merged result: per request name (ok, failed, latency µs of every ok request)."""
    by_name = {name: EndpointResult(ok, failed, histogram(us, ok) if ok else None)
               for name, (ok, failed, us) in endpoints.items()}  # fmt: skip
    aggregate = EndpointResult(sum(e.ok for e in by_name.values()), sum(e.failed for e in by_name.values()), None)
    for endpoint in by_name.values():
        if endpoint.histogram is not None:
            if aggregate.histogram is None:
                aggregate.histogram = histogram(1, 0)
            aggregate.histogram.add(endpoint.histogram)
    return LoadResult(duration_s=duration_s, endpoints={**by_name, AGGREGATE: aggregate}, errors=dict(errors or {}),
                      workers_reported=1, window_s=window_s)


class FakeServer(Server):
    """Ready at once; its process tree is whatever its process says (the test's own process by default)."""

    def wait_ready(self, timeout_s: float = 30.0) -> StartTimings:
        return StartTimings(listen_ms=1.0, ready_ms=2.0)


class FakeProcess:
    """A ServerProcess that is this test's process; stopping it only records the stop."""

    def __init__(self, on_stop: Callable[[], None] = lambda: None,
                 exit_code: Callable[[], int | None] = lambda: None) -> None:
        self.on_stop, self.exit_code = on_stop, exit_code

    def pids(self) -> list[int]:
        return [os.getpid()]

    def stop(self) -> None:
        self.on_stop()


class FakeFacts:
    """RuntimeFacts of a runtime that reports nothing but, when given, a cgroup memory file."""

    def __init__(self, cgroup_memory_path: str | None = None) -> None:
        self.cgroup_memory_path = cgroup_memory_path

    def record(self) -> dict[str, object]:
        return {}


class FakeRuntime:
    """A Runtime whose servers start nothing and record being stopped."""

    name = "fake"

    def __init__(self) -> None:
        self.stopped: list[str] = []

    def launch(self, target: Target, options: LaunchOptions) -> Server:
        process = FakeProcess(on_stop=lambda: self.stopped.append(target.name))
        return FakeServer.launched(target, options, time.perf_counter(), process, FakeFacts())

    def check_available(self, targets: list[Target], settings: RuntimeSettings) -> None:
        pass

    def describe_environment(self, targets: list[Target], settings: RuntimeSettings) -> RuntimeDescription:
        return RuntimeDescription()

    def sweep_strays(self) -> list[str]:
        return []


def register(monkeypatch: pytest.MonkeyPatch, registry: dict[str, str], name: str, module: object) -> None:
    """Put a fake module under `name` in the kinds' registry."""
    fake = types.ModuleType(f"bench_fake_{name}")
    fake.__dict__.update({k: getattr(module, k) for k in dir(module) if not k.startswith("_")})
    monkeypatch.setitem(sys.modules, fake.__name__, fake)
    monkeypatch.setitem(registry, name, fake.__name__)


@pytest.fixture
def fake_runtime() -> FakeRuntime:
    return FakeRuntime()


@pytest.fixture
def idle_process() -> Iterator[psutil.Process]:
    """A real, nearly idle, small process: the fake load generator's process."""
    process = subprocess.Popen(["sleep", "120"])
    try:
        yield psutil.Process(process.pid)
    finally:
        process.kill()
        process.wait()


class FakeLoad:
    """Stands in for LocustProcesses: keeps the spec, lasts a moment so the sampler reads, returns set results.

    By default each step is 800 requests of 10 ms in 2 s (400 req/s), all inside the window.
    """

    made: ClassVar[list[FakeLoad]] = []
    pid: ClassVar[int] = 0  # the load generator's process

    def __init__(self, spec: LoadSpec, out_dir: Path) -> None:
        self.spec, self.out_dir = spec, out_dir
        self.created_s = time.time()  # before the sampler starts: every reading falls in the window
        self.made.append(self)

    def pids(self) -> list[int]:
        return [self.pid]

    def prestart(self) -> None:
        self.prestarted = True

    def run(self) -> list[LoadResult]:
        time.sleep(0.4)
        return self.results()

    def stop(self) -> None:
        self.stopped = True

    def results(self) -> list[LoadResult]:
        window = (self.created_s, time.time() + 1)
        return [load_result({"GET /json": (800, 0, 10_000)}, window_s=window) for _ in self.spec.steps]


@pytest.fixture
def fake_load(idle_process: psutil.Process) -> type[FakeLoad]:
    """FakeLoad, for a context's load generator, with an idle `sleep` as its process."""

    class Load(FakeLoad):
        made: ClassVar[list[FakeLoad]] = []
        pid: ClassVar[int] = idle_process.pid

    return Load


def no_contract(*args: object, **kw: object) -> dict[str, object]:
    return {}


def context(tmp_path: Path, runtime: FakeRuntime | None = None, load_generator: type[FakeLoad] | None = None,
            contract: Callable[..., dict[str, object]] = no_contract, server_cpus: list[int] | None = None,
            loadgen_cpus: list[int] | None = None, **params: object) -> TrialContext:
    """A load trial's context; with no load generator given, any attempt to start one fails the test."""
    values = {"users": [4], "warmup_s": 1.0, "duration_s": 2.0, "trials": 1, **params}
    scenario = Scenario(name="fake", path=tmp_path / "fake.py", description="", kind="load",
                        profiles={"test": values})  # fmt: skip
    placement = Placement(server_cpus=server_cpus or [], loadgen_cpus=loadgen_cpus or [], workers=1, loadgen_workers=1,
                          sample_hz=50.0)
    return TrialContext(target=TARGETS[0], scenario=scenario, params=load.Params(**values), trial=1,
                        placement=placement, runtime=runtime or FakeRuntime(), work_dir=tmp_path, port=NO_PORT,
                        load_generator=load_generator or refuse_load, check_contract=contract)  # fmt: skip


def refuse_load(spec: LoadSpec, out_dir: Path) -> FakeLoad:
    raise AssertionError("this test must not start a load")


def filled_sampler(server: list[Reading], loadgen: list[Reading], thread_cpu_s: float = 0.1,
                   wall_s: float = 10.0) -> Sampler:
    """A Sampler never started, holding the given readings (its window logic is the real one)."""
    sampler = Sampler({"server": list, "loadgen": list})
    sampler.readings = {"server": server, "loadgen": loadgen}
    sampler.thread_cpu_s, sampler.wall_s = thread_cpu_s, wall_s
    return sampler


def loadgen_readings(*per_process: dict[int, float]) -> list[Reading]:
    """Readings inside the 100–102 s window, one per dict of pid -> CPU%."""
    return [Reading(t_s=100.0 + 0.5 * i, cpu_pct=sum(cpus.values()), rss_mb=30.0, per_process_cpu_pct=cpus)
            for i, cpus in enumerate(per_process)]  # fmt: skip


def figures(outcome: TrialOutcome, step: str) -> dict[str, float]:
    return {m.metric: m.value for m in outcome.metrics if m.step == step}


def record(ctx: TrialContext, result: LoadResult, sampler: Sampler | None = None, users: int = 4) -> TrialOutcome:
    outcome = TrialOutcome()
    load._record_step(ctx, f"users={users}", {"users": users}, result, sampler or filled_sampler([], []), outcome,
                      ctx.params.warmup_s)
    return outcome


# --- one step: _record_step -------------------------------------------------------------------


def test_a_step_gives_its_load_figures_and_the_means_of_the_samples_inside_its_window(tmp_path):
    server = [Reading(t_s=t, cpu_pct=cpu, rss_mb=rss)
              for t, cpu, rss in ((99.5, 900.0, 900.0),  # warm-up: outside the window
                                  (100.0, 40.0, 50.0), (100.5, 60.0, 52.0), (101.0, 80.0, 54.0), (101.5, 20.0, 60.0),
                                  (102.0, 900.0, 900.0))]  # the window is [100, 102): its end is outside  # fmt: skip
    sampler = filled_sampler(server, loadgen_readings({7: 30.0}, {7: 50.0}), thread_cpu_s=0.2, wall_s=10.0)
    outcome = record(context(tmp_path), load_result({"GET /json": (800, 0, 10_000)}), sampler)
    got = figures(outcome, "users=4")
    assert got["rps"] == 400.0 and got["requests"] == 800 and got["error_rate"] == 0.0
    assert got["latency_p50_ms"] == pytest.approx(10.0, rel=1e-3) == got["latency_max_ms"]
    assert got["server_cpu_pct"] == 50.0 and got["server_rss_mb"] == 54.0 and got["server_rss_peak_mb"] == 60.0
    assert got["loadgen_cpu_pct"] == 40.0 and got["sampler_cpu_pct"] == pytest.approx(2.0)
    assert {m.step for m in outcome.metrics} == {"users=4"} and outcome.flags == []
    (hist,) = outcome.histograms
    assert (hist.step, hist.endpoint, hist.trial) == ("users=4", AGGREGATE, 1)
    assert HdrHistogram.decode(hist.hdr.encode()).get_total_count() == 800
    # the step's samples: warm-up (negative time) and window, on the window's clock
    assert [s.t_s for s in outcome.samples if s.role == "server"] == [-0.5, 0.0, 0.5, 1.0, 1.5]
    assert [s.t_s for s in outcome.samples if s.role == "loadgen"] == [0.0, 0.5]


def test_failed_requests_count_in_the_error_rate_not_in_rps_and_their_errors_are_summed(tmp_path):
    ctx = context(tmp_path)
    outcome = TrialOutcome(errors={"GET /json: ConnectionResetError": 1})
    result = load_result({"GET /json": (600, 200, 10_000)}, errors={"GET /json: ConnectionResetError": 200})
    load._record_step(ctx, "users=4", {"users": 4}, result, filled_sampler([], []), outcome, ctx.params.warmup_s)
    got = figures(outcome, "users=4")
    assert got["rps"] == 300.0 and got["requests"] == 800 and got["error_rate"] == 0.25
    assert outcome.errors == {"GET /json: ConnectionResetError": 201}
    assert "server_cpu_pct" not in got  # no readings in the window: no resource figure, rather than 0


def test_endpoints_get_their_own_rows_only_when_there_are_several(tmp_path):
    one = record(context(tmp_path), load_result({"GET /json": (800, 0, 10_000)}))
    assert {m.step for m in one.metrics} == {"users=4"}
    two = {"POST /users": (300, 0, 20_000), "GET /users/{id}": (500, 0, 5_000)}
    several = record(context(tmp_path), load_result(two))
    steps = {m.step for m in several.metrics}
    assert steps == {"users=4", "users=4,endpoint=POST /users", "users=4,endpoint=GET /users/{id}"}
    assert figures(several, "users=4,endpoint=POST /users")["rps"] == 150.0
    assert figures(several, "users=4")["requests"] == 800
    assert {h.endpoint for h in several.histograms} == {AGGREGATE, "POST /users", "GET /users/{id}"}


@pytest.mark.parametrize(("per_process", "saturated"), [
    (({7: 95.0}, {7: 95.0}), True),
    (({7: 95.0}, {7: 80.0}), False),  # the mean over the window decides, not one reading
    (({7: 60.0, 8: 60.0}, {7: 60.0, 8: 60.0}), False),  # 120% in all, but no single process is saturated
])  # fmt: skip
def test_a_load_generator_process_near_a_full_core_flags_the_step(tmp_path, per_process, saturated):
    outcome = record(context(tmp_path), load_result({"GET /json": (800, 0, 10_000)}),
                     filled_sampler([], loadgen_readings(*per_process)))  # fmt: skip
    assert ("loadgen_saturated:users=4" in outcome.flags) is saturated


@pytest.mark.parametrize(("per_process", "loadgen_cpus", "saturated"), [
    ({7: 47.0, 8: 47.0}, [1], True),  # two processes sharing one core: neither reaches 90%, together they fill it
    ({7: 47.0, 8: 47.0}, [1, 2], False),  # the same on two cores: half used
    ({7: 95.0, 8: 95.0}, [1, 2], True),
])  # fmt: skip
def test_the_load_generator_total_cpu_against_its_cores_flags_the_step(tmp_path, per_process, loadgen_cpus,
                                                                       saturated):
    ctx = context(tmp_path, loadgen_cpus=loadgen_cpus)
    outcome = record(ctx, load_result({"GET /json": (800, 0, 10_000)}),
                     filled_sampler([], loadgen_readings(per_process, per_process)))  # fmt: skip
    assert ("loadgen_saturated:users=4" in outcome.flags) is saturated


def cpu_readings(cpu_s_per_s: float, t0: float = 100.0, n: int = 5) -> list[Reading]:
    """Readings 0.5 s apart whose two processes together spend `cpu_s_per_s` CPU seconds a second."""
    return [Reading(t_s=t0 + 0.5 * i, cpu_pct=100 * cpu_s_per_s, rss_mb=30.0,
                    per_process_cpu_s={7: 10 + 0.25 * cpu_s_per_s * i, 8: 3 + 0.25 * cpu_s_per_s * i})
            for i in range(n)]  # fmt: skip


def test_cpu_per_request_is_the_process_tree_cpu_over_the_window_divided_by_responses(tmp_path):
    # 800 responses in 2 s = 400/s; the server's tree spends 0.2 CPU-s/s: 500 µs a request
    sampler = filled_sampler(cpu_readings(0.2, n=4), cpu_readings(0.8, n=4))
    got = figures(record(context(tmp_path, server_cpus=[0]), load_result({"GET /json": (700, 100, 10_000)}),
                         sampler), "users=4")  # fmt: skip
    assert got["server_cpu_us_per_req"] == pytest.approx(500.0)
    assert got["loadgen_cpu_us_per_req"] == pytest.approx(2000.0)
    assert got["capacity_rps_est"] == pytest.approx(2000.0)  # 1 core × 10^6 / 500 µs


def test_a_database_on_the_servers_cores_counts_in_the_capacity_estimate(tmp_path):
    # 400 responses/s; the server spends 500 µs a request and PostgreSQL beside it 250 µs: the core
    # fills at 10^6 / 750 µs, not 10^6 / 500 µs
    def with_database(database_cpus: list[int]) -> dict[str, float]:
        sampler = Sampler({"server": list, "loadgen": list, "database": list},
                          cpus={"server": [0], "loadgen": [1], "database": database_cpus})
        sampler.readings = {"server": cpu_readings(0.2, n=4), "loadgen": cpu_readings(0.8, n=4),
                            "database": cpu_readings(0.1, n=4)}
        sampler.thread_cpu_s, sampler.wall_s = 0.1, 10.0
        return figures(record(context(tmp_path, server_cpus=[0]), load_result({"GET /json": (700, 100, 10_000)}),
                              sampler), "users=4")  # fmt: skip

    shared = with_database([0])
    assert shared["database_cpu_us_per_req"] == pytest.approx(250.0)
    assert shared["capacity_rps_est"] == pytest.approx(1e6 / 750)
    assert with_database([1])["capacity_rps_est"] == pytest.approx(2000.0)  # on other cores: not the server's cost


def test_no_capacity_estimate_where_the_server_is_saturated(tmp_path):
    sampler = filled_sampler(cpu_readings(0.95, n=4), [])
    got = figures(record(context(tmp_path, server_cpus=[0]), load_result({"GET /json": (800, 0, 10_000)}),
                         sampler), "users=4")  # fmt: skip
    assert got["server_cpu_us_per_req"] == pytest.approx(2375.0) and "capacity_rps_est" not in got
    assert "loadgen_cpu_us_per_req" not in got  # no readings: no figure, rather than 0


@pytest.mark.parametrize(("users", "think_s", "requests", "ratio"), [
    (4, 0.0, 800, 1.0),  # X = 400/s, R = 10 ms: X·R = 4 users
    (8, 0.0, 800, 0.5),  # half the users are not accounted for
    (4, 0.04, 160, 1.0),  # X = 80/s, R + Z = 50 ms: the think time counts
    (4, 0.0, 160, 0.2),  # the same load read without its think time
])  # fmt: skip
def test_little_law_ratio_and_flag(tmp_path, users, think_s, requests, ratio):
    outcome = record(context(tmp_path, think_s=think_s), load_result({"GET /json": (requests, 0, 10_000)}),
                     users=users)  # fmt: skip
    assert figures(outcome, f"users={users}")["little_law_ratio"] == pytest.approx(ratio, rel=2e-3)
    assert (f"little_law:users={users}" in outcome.flags) is (ratio != 1.0)


# --- one Locust run: _measure_run -------------------------------------------------------------


def fake_server(tmp_path: Path, exit_code: Callable[[], int | None] = lambda: None,
                cgroup_memory_path: str | None = None) -> Server:
    options = LaunchOptions(port=NO_PORT, log_path=tmp_path / "server.log")
    return FakeServer.launched(TARGETS[0], options, 0.0, FakeProcess(exit_code=exit_code),
                               FakeFacts(cgroup_memory_path))  # fmt: skip


def measure_run(ctx: TrialContext, server: Server, fixed: dict[str, object], users: list[float],
                outcome: TrialOutcome) -> None:
    load._measure_run(ctx, server, fixed, users, load._load_generator(ctx, server.base_url, fixed, users), outcome)


def test_a_run_steps_through_its_users_and_samples_the_server_and_the_load_generator(tmp_path, fake_load,
                                                                                   idle_process):
    ctx = context(tmp_path, load_generator=fake_load, users=[2, 4], matrix={"ms": [20]}, think_s=0.1,
                  params={"size": 3}, after_load_s=0)
    messages: list[str] = []
    ctx.progress = messages.append
    outcome = TrialOutcome()
    server = fake_server(tmp_path)
    measure_run(ctx, server, {"ms": 20}, [2, 4], outcome)
    (made,) = fake_load.made
    assert made.spec.steps == [StepSpec(2, 2, 1.0, 2.0), StepSpec(4, 4, 1.0, 2.0)]  # all users within a second
    assert made.spec.params == {"size": 3, "ms": 20, "think_s": 0.1, "think_jitter": 0.0}
    assert made.spec.host_url.endswith(f":{NO_PORT}")
    assert made.out_dir == tmp_path / "locust-ms20" and messages == ["ms=20,users=2 … ms=20,users=4"]
    own_rss_mb = psutil.Process().memory_info().rss / MB
    for step in ("ms=20,users=2", "ms=20,users=4"):
        got = figures(outcome, step)
        assert got["rps"] == 400.0
        assert got["server_rss_mb"] == pytest.approx(own_rss_mb, rel=0.3)  # the server's pids: this process
    assert figures(outcome, "ms=20,users=4")["rss_after_load_mb"] == pytest.approx(own_rss_mb, rel=0.3)
    server_rss = [s.rss_mb for s in outcome.samples if s.role == "server"]
    loadgen_rss = [s.rss_mb for s in outcome.samples if s.role == "loadgen"]
    assert server_rss and loadgen_rss and max(loadgen_rss) < min(server_rss)  # `sleep` is the load generator


def test_a_server_that_dies_during_the_load_is_one_line_naming_the_step(tmp_path, fake_load):
    (tmp_path / "server.log").write_text("starting\nSegmentation fault\n")
    server = fake_server(tmp_path, exit_code=lambda: -11)
    with pytest.raises(BenchError) as caught:
        measure_run(context(tmp_path, load_generator=fake_load, users=[2, 4]), server, {}, [2, 4], TrialOutcome())
    message = str(caught.value)
    assert "\n" not in message and "exited during the load at users=4" in message and "Segmentation fault" in message


def test_a_container_reports_its_cgroup_memory_at_the_end_of_the_run(tmp_path, fake_load):
    (tmp_path / "memory.current").write_text("123456789\n")
    outcome = TrialOutcome()
    server = fake_server(tmp_path, cgroup_memory_path=str(tmp_path / "memory.current"))
    measure_run(context(tmp_path, load_generator=fake_load, users=[2, 4]), server, {}, [2, 4], outcome)
    assert [(m.step, m.value) for m in outcome.metrics if m.metric == "server_cgroup_mb"] == [("users=4", 123.456789)]


# --- one trial: run_trial ---------------------------------------------------------------------


def test_a_load_trial_starts_checks_measures_and_stops_its_server(tmp_path, fake_runtime, fake_load):
    checked = []
    ctx = context(tmp_path, fake_runtime, fake_load, lambda *args, **kw: checked.append(args) or {"answers": "right"},
                  users=[2, 4], matrix={"ms": [20, 100]})
    outcome = load.run_trial(ctx)
    assert outcome.server == {"start": {"listen_ms": 1.0, "ready_ms": 2.0}, "contract": {"answers": "right"},
                              "processes": 1, "keepalive_timeout_s": 5.0}  # fmt: skip
    assert checked == [("alpha", "127.0.0.1", NO_PORT)] and fake_runtime.stopped == ["alpha"]
    assert [made.spec.params["ms"] for made in fake_load.made] == [20, 100]  # one Locust run per matrix value
    first, second = fake_load.made
    assert getattr(first, "prestarted", False) and not hasattr(second, "prestarted")  # the first starts with the server
    assert first.stopped
    assert {m.step for m in outcome.metrics if m.metric == "rps"} == {
        "ms=20,users=2", "ms=20,users=4", "ms=100,users=2", "ms=100,users=4"}
    later = load.run_trial(replace(ctx, trial=2))  # the same code and configuration: not checked again
    assert later.server["contract"] == {"checked_in_trial": 1} and len(checked) == 1


def test_a_load_generator_started_ahead_is_stopped_when_the_server_never_gets_ready(tmp_path, monkeypatch,
                                                                                     fake_runtime, fake_load):
    def never_ready(*args, **kwargs):
        raise BenchError("alpha did not become ready")

    monkeypatch.setattr(load, "running", never_ready)
    with pytest.raises(BenchError, match="ready"):
        load.run_trial(context(tmp_path, fake_runtime, fake_load))
    (made,) = fake_load.made
    assert made.prestarted and made.stopped


def test_a_trial_adds_the_figures_computed_across_its_steps(tmp_path, fake_runtime, fake_load):
    outcome = load.run_trial(context(tmp_path, fake_runtime, fake_load, users=[2, 4], summary={"slo_p99_ms": 50}))
    assert [m.value for m in outcome.metrics if m.metric == "max_concurrency_slo" and m.step == ""] == [4.0]


def test_the_server_is_stopped_when_the_load_fails(tmp_path, monkeypatch, fake_runtime, fake_load):
    def no_measurement(self):
        raise BenchError("Locust produced no measurement")

    monkeypatch.setattr(fake_load, "results", no_measurement)
    with pytest.raises(BenchError, match="no measurement"):
        load.run_trial(context(tmp_path, fake_runtime, fake_load))
    assert fake_runtime.stopped == ["alpha"]


# --- a run: PreparedRun.execute ---------------------------------------------------------------


class FakeKind:
    """A scenario kind whose trials read what is on disk when they start, and may be interrupted."""

    class Params(BaseModel):
        trials: PositiveInt

    def __init__(self, directory: Path, interrupt_at: int | None = None) -> None:
        self.directory, self.interrupt_at = directory, interrupt_at
        self.seen: list[tuple[int, list[str], bool]] = []  # (trials saved, targets checked, affinity set)

    def run_trial(self, ctx: TrialContext) -> TrialOutcome:
        saved = json.loads((self.directory / "results.json").read_text())
        self.seen.append((len(saved["trials"]), sorted(saved["checks"]),
                          os.sched_getaffinity(0) == set(ctx.placement.loadgen_cpus)))
        if len(self.seen) == self.interrupt_at:
            raise KeyboardInterrupt
        value = 100.0 + 10 * ctx.trial + (5 if ctx.target.name == "beta" else 0)
        return TrialOutcome(metrics=[ctx.metric("rps", value, "req/s", "users=1")],
                            flags=["loadgen_saturated:users=1"] if ctx.trial == 2 else [])  # fmt: skip


def prepared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: FakeKind, runtime: FakeRuntime,
             config: RunConfig | None = None) -> run_module.PreparedRun:
    register(monkeypatch, KINDS, "fakekind", kind)
    scenario = Scenario(name="fake", path=tmp_path / "fake.py", description="", kind="fakekind",
                        profiles={"test": {"trials": 2}})  # fmt: skip
    cpus = sorted(os.sched_getaffinity(0))
    placement = Placement(server_cpus=cpus[:1], loadgen_cpus=cpus[-1:], workers=1, loadgen_workers=1, sample_hz=10.0)
    plan = run_module.plan_trials([scenario], TARGETS, "test", "alternate", random.Random(0))
    store = ResultsStore(kind.directory, RunResults(run_id="fake", created_at="2026-01-01T00:00:00+00:00"), samples=[])
    return run_module.PreparedRun(config or RunConfig(profile="test", runtime="fake"), store, plan, placement, runtime,
                                  behaviour_checks=lambda server: {"port": server.port})


def test_a_run_saves_after_every_trial_and_ends_complete(tmp_path, monkeypatch, fake_runtime):
    affinity = os.sched_getaffinity(0)
    kind = FakeKind(tmp_path / "run")
    directory = prepared(tmp_path, monkeypatch, kind, fake_runtime).execute()
    assert kind.seen == [(0, ["alpha", "beta"], True), (1, ["alpha", "beta"], True), (2, ["alpha", "beta"], True),
                         (3, ["alpha", "beta"], True)]  # fmt: skip
    assert os.sched_getaffinity(0) == affinity and fake_runtime.stopped == ["alpha", "beta"]  # the behaviour checks
    results = json.loads((directory / "results.json").read_text())
    assert results["complete"] is True
    assert [(t["target"], t["trial"], t["order"]) for t in results["trials"]] == [
        ("alpha", 1, 1), ("beta", 1, 2), ("beta", 2, 3), ("alpha", 2, 4)]  # A B, B A
    saturated = ["loadgen_saturated:users=1"]
    assert [t["flags"] for t in results["trials"]] == [[], [], saturated, saturated]  # kept per trial
    medians = {s["target"]: s["median"] for s in results["summaries"] if s["metric"] == "rps"}
    assert medians == {"alpha": 115.0, "beta": 120.0}
    rows = (directory / "metrics.csv").read_text().splitlines()
    assert sum(",rps," in row for row in rows) == 4
    # before every trial, the cores' own speed (harness.machine.speed_probe), each role with CPUs
    probes = [m for m in results["metrics"] if m["metric"].endswith("_speed_probe_ms")]
    assert {(m["target"], m["trial"]) for m in probes} == {("alpha", 1), ("beta", 1), ("beta", 2), ("alpha", 2)}
    assert all(m["value"] > 0 and m["step"] == "" for m in probes)


def test_an_interrupted_run_keeps_its_finished_trials_and_says_it_is_incomplete(tmp_path, monkeypatch, fake_runtime):
    affinity = os.sched_getaffinity(0)
    kind = FakeKind(tmp_path / "run", interrupt_at=3)
    with pytest.raises(KeyboardInterrupt):
        prepared(tmp_path, monkeypatch, kind, fake_runtime).execute()
    assert os.sched_getaffinity(0) == affinity
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["complete"] is False and len(results["trials"]) == 2
    assert {s["target"] for s in results["summaries"]} == {"alpha", "beta"}  # summarised all the same


# --- the sampler, on real processes -----------------------------------------------------------


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout_s} s: {what}"
        time.sleep(0.02)


def test_the_sampler_reads_each_role_and_full_memory_every_nth_tick(idle_process):
    with Sampler({"me": lambda: [os.getpid()], "idle": lambda: [idle_process.pid]}, rate_hz=50,
                 full_memory_every=3) as sampler:  # fmt: skip
        wait_until(lambda: len(sampler.readings["idle"]) >= 7, 30, "seven readings")
        spin_until = time.perf_counter() + 0.3
        while time.perf_counter() < spin_until:  # this process busy, the other one asleep
            pass
    me, idle = sampler.readings["me"], sampler.readings["idle"]
    assert [r.uss_mb is not None for r in idle[:7]] == [True, False, False, True, False, False, True]
    assert all(r.pss_mb is not None for r in me[::3])
    own_rss_mb = psutil.Process().memory_info().rss / MB
    assert me[-1].rss_mb == pytest.approx(own_rss_mb, rel=0.3) and max(r.rss_mb for r in idle) < 20
    assert max(r.cpu_pct for r in me) > 10 and max(r.cpu_pct for r in idle) < 10
    assert set(me[-1].per_process_cpu_pct) == {os.getpid()}
    assert all(b.t_s > a.t_s for a, b in itertools.pairwise(me))
    assert sampler.wall_s > 0 and 0 < sampler.cost_pct < 100


def test_the_sampler_follows_processes_that_start_and_end_during_the_run(idle_process):
    pids = [idle_process.pid]
    with Sampler({"role": lambda: list(pids)}, rate_hz=50) as sampler:
        late = subprocess.Popen(["sleep", "120"])
        try:
            pids.append(late.pid)  # a worker forked late: picked up at the next refresh (about a second)
            wait_until(lambda: bool(sampler.readings["role"])  # none yet in the sampler's first moments
                       and late.pid in sampler.readings["role"][-1].per_process_cpu_pct, 30, "the late process")
        finally:
            late.kill()
            late.wait()
        seen = len(sampler.readings["role"])  # it ended: read no more, and no error
        wait_until(lambda: len(sampler.readings["role"]) > seen + 3
                   and late.pid not in sampler.readings["role"][-1].per_process_cpu_pct, 30, "readings without it")
    assert idle_process.pid in sampler.readings["role"][-1].per_process_cpu_pct


def test_the_sampler_window_is_half_open():
    sampler = filled_sampler([Reading(t_s=t, cpu_pct=0.0, rss_mb=1.0) for t in (0.9, 1.0, 1.5, 2.0)], [])
    assert [r.t_s for r in sampler.window("server", 1.0, 2.0)] == [1.0, 1.5]


def test_an_open_model_run_steps_through_its_rates_with_one_sender_per_worker(tmp_path, fake_load):
    ctx = context(tmp_path, load_generator=fake_load, users=[], arrival={"rate_per_s": [100, 250.5],
                                                                          "max_in_flight": 8})
    outcome = TrialOutcome()
    measure_run(ctx, fake_server(tmp_path), {}, [100, 250.5], outcome)
    (made,) = fake_load.made
    assert made.spec.steps == [StepSpec(1, 1, 1.0, 2.0, rate_per_s=100.0, max_in_flight=8),
                               StepSpec(1, 1, 1.0, 2.0, rate_per_s=250.5, max_in_flight=8)]  # fmt: skip
    assert made.spec.params["distribution"] == "poisson" and made.spec.params["loadgen_workers"] == 1
    assert {m.step for m in outcome.metrics} == {"rate=100", "rate=250.5"}
    assert "little_law_ratio" not in figures(outcome, "rate=100")  # no closed users to account for


def test_a_sweep_that_ended_at_a_failing_step_records_the_steps_run_and_says_which_were_not(tmp_path, fake_load):
    class EndedAfterFirst(fake_load):
        def results(self):
            return super().results()[:1]  # what the driver returns when the plugin stopped the sweep

    ctx = context(tmp_path, load_generator=EndedAfterFirst, users=[], summary={"rate_slo_p99_ms": 100},
                  arrival={"rate_per_s": [100, 200, 300], "stop_at_first_failure": True})
    outcome = TrialOutcome(server={})
    measure_run(ctx, fake_server(tmp_path), {}, [100, 200, 300], outcome)
    assert EndedAfterFirst.made[-1].spec.stop_p99_ms == 100.0
    assert {m.step for m in outcome.metrics} == {"rate=100"}
    (ended,) = outcome.server["sweep_ended_early"]
    assert ended["after"] == "rate=100" and ended["not_run"] == ["rate=200", "rate=300"]
    with pytest.raises(ValueError, match="rate_slo_p99_ms"):  # it stops at the SLO: one must be given
        load.Params(arrival={"rate_per_s": [100], "stop_at_first_failure": True}, warmup_s=1, duration_s=1, trials=1)


@pytest.mark.parametrize("values", [{}, {"users": [4], "arrival": {"rate_per_s": [100]}}])
def test_a_load_scenario_gives_either_users_or_an_arrival_rate(values):
    with pytest.raises(ValueError, match="either users"):
        load.Params(warmup_s=1, duration_s=1, trials=1, **values)


def test_user_steps_must_last_whole_seconds_as_locusts_shape_ticks_once_a_second():
    with pytest.raises(ValueError, match="whole seconds"):
        load.Params(users=[8, 64], warmup_s=0.5, duration_s=1.25, trials=1)
    load.Params(users=[8, 64], warmup_s=0.5, duration_s=1.5, trials=1)  # 2 s a step
    load.Params(users=[8], warmup_s=0.5, duration_s=1.25, trials=1)  # one step: nothing follows it
    load.Params(arrival={"rate_per_s": [100, 200]}, warmup_s=0.75, duration_s=1.5, trials=1)  # rates: no shape tick
    with pytest.raises(ValueError, match="whole seconds"):  # the first step's own warm-up too
        load.Params(users=[8, 64], first_warmup_s=1.25, warmup_s=0.5, duration_s=1.5, trials=1)


def test_only_the_first_step_gets_the_longer_warm_up_of_a_fresh_server():
    params = load.Params(arrival={"rate_per_s": [100, 200, 300]}, first_warmup_s=2, warmup_s=0.5, duration_s=1,
                         trials=1)
    assert params.warmups_s(3) == [2, 0.5, 0.5]
    assert [s.warmup_s for s in load._step_specs(params, [100, 200, 300], 1)] == [2, 0.5, 0.5]
    assert load.Params(users=[8], warmup_s=0.5, duration_s=1, trials=1).warmups_s(1) == [0.5]


# --- a disturbed round is re-run, both targets ------------------------------------------------


class DisturbedOnceKind(FakeKind):
    """Round 1's first attempt sees a neighbour on beta's server CPU: foreign CPU and wait both high."""

    def run_trial(self, ctx: TrialContext) -> TrialOutcome:
        outcome = super().run_trial(ctx)
        first_attempt = ctx.work_dir.name.endswith(f"-{ctx.trial}")
        harmed = ctx.trial == 1 and ctx.target.name == "beta" and first_attempt
        outcome.metrics += [ctx.metric("server_foreign_cpu_pct", 45.0 if harmed else 1.0, "%", "users=1"),
                            ctx.metric("server_cpu_wait_pct", 40.0 if harmed else 0.5, "%", "users=1")]
        outcome.flags += ["disturbed:users=1"] if harmed else []
        return outcome


class DisturbedThroughoutKind(FakeKind):
    """A neighbour on beta's server CPU for the whole run: every attempt of every round is disturbed."""

    def run_trial(self, ctx: TrialContext) -> TrialOutcome:
        outcome = super().run_trial(ctx)
        if ctx.target.name == "beta":
            outcome.metrics.append(ctx.metric("server_foreign_cpu_pct", 45.0, "%", "users=1"))
            outcome.flags.append("disturbed:users=1")
        return outcome


def test_a_disturbance_that_outlasts_the_re_runs_suspends_them_and_later_rounds_are_flagged_once(
        tmp_path, monkeypatch, fake_runtime):
    kind = DisturbedThroughoutKind(tmp_path / "run")
    directory = prepared(tmp_path, monkeypatch, kind, fake_runtime).execute()
    results = json.loads((directory / "results.json").read_text())
    assert len(kind.seen) == 2 * (1 + MAX_RERUNS) + 2  # round 1 with every re-run, round 2 once
    round_one = [t for t in results["trials"] if t["trial"] == 1]
    assert all(len(t["discarded_attempts"]) == MAX_RERUNS for t in round_one)
    round_two = [t for t in results["trials"] if t["trial"] == 2]
    assert all(t["discarded_attempts"] == [] for t in round_two)
    assert [t["flags"] for t in round_two if t["target"] == "beta"] == [["loadgen_saturated:users=1",
                                                                        "disturbed:users=1"]]
    (suspended,) = [w for w in results["warnings"] if "still disturbed" in w]
    assert suspended.startswith(f"fake round 1 was still disturbed after {MAX_RERUNS} re-runs")


def test_warnings_the_run_raises_before_the_end_outlive_the_warnings_rebuilt_from_the_figures(
        tmp_path, monkeypatch, fake_runtime):
    """`--no-ceiling` warns before the first trial, the re-run budget during the rounds; summarize, at the
    end, rebuilds the warnings from the figures and must keep both (it once dropped the first)."""
    kind = DisturbedThroughoutKind(tmp_path / "run")
    config = RunConfig(profile="test", runtime="fake", ceiling_s=0)
    directory = prepared(tmp_path, monkeypatch, kind, fake_runtime, config).execute()
    results = json.loads((directory / "results.json").read_text())
    (no_ceiling,) = [w for w in results["warnings"] if w.startswith("no load generator ceiling (")]
    (suspended,) = [w for w in results["warnings"] if "still disturbed" in w]
    assert results["run_notes"] == [no_ceiling, suspended]
    assert results["warnings"][-2:] == [no_ceiling, suspended]  # after the derived ones
    assert any(w.startswith("re-ran round 1 of fake") for w in results["warnings"][:-2])


def test_a_disturbed_round_is_re_run_for_both_targets_and_the_discarded_attempt_is_kept(
        tmp_path, monkeypatch, fake_runtime):
    kind = DisturbedOnceKind(tmp_path / "run")
    directory = prepared(tmp_path, monkeypatch, kind, fake_runtime).execute()
    results = json.loads((directory / "results.json").read_text())
    assert len(kind.seen) == 6  # round 1 twice (alpha and beta each time), round 2 once
    assert [(t["target"], t["trial"]) for t in results["trials"]] == [
        ("alpha", 1), ("beta", 1), ("beta", 2), ("alpha", 2)]  # only the kept attempts
    round_one = [t for t in results["trials"] if t["trial"] == 1]
    for record in round_one:
        assert [d["attempt"] for d in record["discarded_attempts"]] == [1]
        assert "beta server users=1 45.0%" in record["discarded_attempts"][0]["reason"]
        assert record["flags"] == []  # the kept attempt was quiet
    assert all(t["discarded_attempts"] == [] for t in results["trials"] if t["trial"] == 2)
    # the discarded attempt's figures are gone: one rps per target and trial
    rps = [(m["target"], m["trial"]) for m in results["metrics"] if m["metric"] == "rps"]
    assert sorted(rps) == [("alpha", 1), ("alpha", 2), ("beta", 1), ("beta", 2)]
    assert any("re-ran round 1 of fake" in w for w in results["warnings"])
