"""Run one Locust load (one process, or a master plus N workers; pinned) over one or more steps;
read back each window."""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from harness.errors import BenchError
from harness.loadgen.arrival import ArrivalCounts
from harness.loadgen.hosts import HostLoad, merge_hosts
from harness.loadgen.params import (
    GATE_ENV,
    OUTPUT_ENV,
    PARAMS_ENV,
    REGISTERED_ENV,
    REPORT_KEY_ENV,
    RUN_KEY_ENV,
    SLICES_ENV,
    STEPS_ENV,
    STOP_P99_ENV,
    TAIL_S,
    WORKER_ID_ENV,
)
from harness.loadgen.slices import SlicedLoad, SlicePlan, add_entry, merge_slices
from harness.loadgen.trust import SECRET_ENV, report_key
from harness.loadgen.window import AGGREGATE, EndpointResult
from harness.runtime.procs import spawn
from harness.runtime.server import free_port, log_tail

PLUGIN = Path(__file__).with_name("plugin.py")
EXIT_GRACE_S = 30.0
BIND_RETRIES = 2  # Locust start-up and shutdown, on top of the run time
LOCAL_WORKER = "local"  # the worker id of this machine's own Locust worker processes (harness.loadgen.trust)


@dataclass(frozen=True)
class StepSpec:
    users: int
    spawn_rate: float
    warmup_s: float
    duration_s: float
    # Open model: the step offers this many requests a second (harness.loadgen.open_user), at most
    # max_in_flight of them at once per sender; `users` is then the number of senders.
    rate_per_s: float | None = None
    max_in_flight: int = 0


@dataclass(frozen=True)
class LoadSpec:
    scenario_file: Path
    host_url: str
    steps: list[StepSpec]
    workers: int = 1
    cpus: list[int] | None = None
    params: dict[str, object] = field(default_factory=dict)
    stop_p99_ms: float | None = None  # end the sweep after a step whose p99 reaches this (params.STOP_P99_ENV)
    # Paired slices: the load alternates between the plan's two targets (harness.loadgen.slices); the
    # run is then one step of the plan's length (`sliced_step`), and `host_url` only Locust's --host.
    slices: SlicePlan | None = None

    def __post_init__(self) -> None:
        if self.slices is not None and (len(self.steps) != 1 or not _fits(self.steps[0], self.slices)):
            raise ValueError("a sliced load is one step of the plan's warm-up and slices (see sliced_step)")

    @property
    def run_time_s(self) -> int:
        """A bound on Locust's run (whole seconds); the steps and windows are timed by the plugin."""
        return math.ceil(sum(s.warmup_s + s.duration_s for s in self.steps) + TAIL_S + 5)


@dataclass
class LoadResult:
    duration_s: float
    endpoints: dict[str, EndpointResult]  # by request name, plus AGGREGATE
    errors: dict[str, int]
    workers_reported: int
    window_s: tuple[float, float]  # time.time() of the measured window, across workers
    # Requests stalled at the window's end (sent, not answered, waiting ≥ STALLED_AFTER_S), all names:
    # neither ok nor failed inside the window, yet not answered (Locust waits up to its network timeout).
    pending: int = 0
    # Reported by scenario code (harness.loadgen.measures), summed over the workers: counts inside the
    # window, and each gauge's lowest reading in it (per worker; their sum is a lower bound of the total's).
    counts: dict[str, float] = field(default_factory=dict)
    gauges_min: dict[str, float] = field(default_factory=dict)
    # Open model only: offered, sent, late, dropped, completed (harness.loadgen.arrival.ArrivalCounts), summed.
    arrivals: ArrivalCounts | None = None
    # Each load-generator host's CPU in the window, as its Locust workers reported it (harness.loadgen.hosts).
    loadgen_hosts: dict[str, HostLoad] = field(default_factory=dict)
    # A sliced load (LoadSpec.slices): each slice's figures, with its wall-clock times, and each target's pooled.
    slices: SlicedLoad | None = None


def sliced_step(plan: SlicePlan, users: int, spawn_rate: float) -> StepSpec:
    """The one step of a sliced load: its users for the plan's warm-up, then for all its slices."""
    return StepSpec(users, spawn_rate, plan.warmup_s, plan.slices * plan.slice_s)


def _fits(step: StepSpec, plan: SlicePlan) -> bool:
    expected = sliced_step(plan, step.users, step.spawn_rate)
    return math.isclose(step.warmup_s, expected.warmup_s) and math.isclose(step.duration_s, expected.duration_s)


class LocustProcesses:
    """The Locust processes of one run (one, or a master and its workers); `pids()` feeds the load generator sampler."""

    def __init__(self, spec: LoadSpec, out_dir: Path) -> None:
        self.spec = spec
        self.out_dir = out_dir
        self.output = out_dir / "locust-window.json"
        self.gate = out_dir / "locust-go"
        self.log_path = out_dir / "locust.log"
        self.processes: list[subprocess.Popen[bytes]] = []
        # Who may report to the master (harness.loadgen.trust.ReportGate): here its local workers,
        # under a key of this run's own; external workers are registered instead (harness.loadgen.external).
        self.run_key = secrets.token_bytes(32)
        self.registered: dict[str, int] = {LOCAL_WORKER: spec.workers}
        self.dropped: dict[str, int] = {}  # messages the master refused, by kind and reason (after `result`)

    def _env(self) -> dict[str, str]:
        env = {name: value for name, value in os.environ.items() if name != SECRET_ENV}
        env.update({
            STEPS_ENV: json.dumps([asdict(step) for step in self.spec.steps]),
            OUTPUT_ENV: str(self.output),
            GATE_ENV: str(self.gate),
            PARAMS_ENV: json.dumps(self.spec.params),
            RUN_KEY_ENV: self.run_key.hex(),
            REGISTERED_ENV: json.dumps(self.registered),
            WORKER_ID_ENV: LOCAL_WORKER,
            REPORT_KEY_ENV: report_key(self.run_key, LOCAL_WORKER).hex(),
            "PYTHONUNBUFFERED": "1",
        })
        if self.spec.stop_p99_ms is not None:
            env[STOP_P99_ENV] = str(self.spec.stop_p99_ms)
        if self.spec.slices is not None:
            env[SLICES_ENV] = self.spec.slices.to_json()
        return env

    def _locust(self, *args: str) -> list[str]:
        locustfiles = f"{self.spec.scenario_file},{PLUGIN}"
        return [sys.executable, "-m", "locust", "-f", locustfiles, *args]

    def _headless(self, *role: str) -> list[str]:
        """A headless Locust run of the spec's length at its host; `role`: the master's flags, or none."""
        return self._locust(
            *role, "--headless", "--only-summary", "--loglevel", "WARNING",
            "-t", f"{self.spec.run_time_s}s", "--stop-timeout", "0", "--host", self.spec.host_url,
        )  # fmt: skip

    def _master(self, bind_host: str, port: int) -> list[str]:
        return self._headless(
            "--master", "--master-bind-host", bind_host, "--master-bind-port", str(port),
            "--expect-workers", str(self.spec.workers), "--expect-workers-max-wait", "30",
        )  # fmt: skip

    def commands(self) -> list[list[str]]:
        """The master and the local workers (external workers: harness.loadgen.external).

        One worker runs as a single Locust process (the plugin serves both roles in it): a master
        polls for its workers once a second, and with the worker's own start-up on the same core
        that delays each run's first step by over a second (docs/measurements.md, "The load generator").
        """
        if self.spec.workers == 1:
            return [self._headless()]
        port = free_port()
        worker = self._locust("--worker", "--master-host", "127.0.0.1", "--master-port", str(port))
        return [self._master("127.0.0.1", port)] + [worker] * self.spec.workers

    def prestart(self) -> None:
        """Start the processes now, held at the gate until `run` (see harness.loadgen.params.GATE_ENV)."""
        self.start()

    def start(self) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.output.unlink(missing_ok=True)
        self.gate.unlink(missing_ok=True)
        spec = self.spec
        commands = self.commands()
        log = self.log_path.open("ab")
        env = self._env()
        try:
            for command in commands:
                # pinned, in its own group, and stopped if the harness is killed (see harness.runtime.procs)
                self.processes.append(
                    spawn(command, spec.cpus, env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
                )
        finally:
            log.close()

    def pids(self) -> list[int]:
        # Locust forks nothing and taskset and setpriv exec in place, so no process-tree walk is needed.
        return [p.pid for p in self.processes if p.poll() is None]

    def wait(self) -> None:
        """Until every worker has reported (then Locust's own shutdown, ~2 s, is not waited for),
        the master exits, or the bound on the run's time passes."""
        deadline = time.monotonic() + self.spec.run_time_s + EXIT_GRACE_S
        master = self.processes[0]
        while master.poll() is None and time.monotonic() < deadline and not self._all_reported():
            self.check_peers()
            time.sleep(0.05)

    def check_peers(self) -> None:
        """While waiting: raise BenchError to end the run early (external workers: one refused the run)."""

    def _all_reported(self) -> bool:
        try:
            data = json.loads(self.output.read_text())
        except (OSError, ValueError):
            return False
        return len(data["workers"]) >= data["workers_expected"]

    def stop(self) -> None:
        # SIGKILL at once: what Locust measured is already in the output file, and its
        # graceful shutdown (a summary nobody reads) costs about a second.
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        for process in self.processes:
            process.wait()
        self.processes = []

    def log_tail(self, lines: int = 6) -> str:
        return log_tail(self.log_path, lines)

    def run(self) -> list[LoadResult]:
        """Start Locust, wait for it (bounded), always stop every process, return each step's result.

        The master's port is picked free but bound a moment later by Locust, so another program
        can take it in between: that one failure is retried with a new port.
        """
        for attempt in range(1 + BIND_RETRIES):
            try:
                if not self.processes:  # else started ahead by `prestart`
                    self.start()
                self.gate.touch()
                self.wait()
            finally:
                self.stop()
            if self.output.exists() or not self._bind_failed() or attempt == BIND_RETRIES:
                break
        return self.result()

    def _bind_failed(self) -> bool:
        return "Address already in use" in log_tail(self.log_path, 20)

    def result(self) -> list[LoadResult]:
        """One result per step run, each merged over the workers: every step, unless the sweep ended early."""
        try:
            data = json.loads(self.output.read_text())
        except (OSError, ValueError):
            raise BenchError(f"Locust produced no measurement (log {self.log_path}): {self.log_tail()}") from None
        self.dropped = dict(data.get("dropped") or {})
        if len(data["workers"]) < data["workers_expected"]:
            raise BenchError(
                f"only {len(data['workers'])} of {data['workers_expected']} Locust workers reported; "
                f"log {self.log_path}: {self.log_tail()}"
            )
        run = min(len(worker["steps"]) for worker in data["workers"])  # fewer when the sweep ended early
        results = [
            merge_reports([worker["steps"][i] for worker in data["workers"]], step.duration_s)
            for i, step in enumerate(self.spec.steps[:run])
        ]
        for i, result in enumerate(results):
            result.loadgen_hosts = merge_hosts([worker.get("loadgen") for worker in data["workers"]], i)
        if self.spec.slices is not None:
            results[0].slices = self._sliced(self.spec.slices, data["workers"])
        return results

    def _sliced(self, plan: SlicePlan, workers: list[dict[str, object]]) -> SlicedLoad:
        try:
            return merge_slices(plan, [worker["slices"] for worker in workers])  # type: ignore[misc]
        except (KeyError, TypeError, ValueError) as exc:
            raise BenchError(f"Locust's slices do not fit the plan ({exc}); log {self.log_path}: {self.log_tail()}"
                             ) from None


def merge_reports(reports: list[dict[str, object]], duration_s: float) -> LoadResult:
    """Sum the workers' counts and add their histograms, per request name and overall."""
    endpoints: dict[str, EndpointResult] = {}
    errors: dict[str, int] = {}
    for report in reports:
        for name, entry in report["requests"].items():  # type: ignore[union-attr]
            add_entry(endpoints, name, entry)
            add_entry(endpoints, AGGREGATE, entry)
        for message, count in report["errors"].items():  # type: ignore[union-attr]
            errors[message] = errors.get(message, 0) + count
    endpoints.setdefault(AGGREGATE, EndpointResult(0, 0, None))
    windows = [report["window"] for report in reports]
    window = (min(w[0] for w in windows), max(w[1] for w in windows)) if windows else (0.0, 0.0)  # type: ignore[index]
    return LoadResult(
        duration_s=duration_s, endpoints=endpoints, errors=errors, workers_reported=len(reports), window_s=window,
        pending=sum(int(report.get("pending", 0)) for report in reports),  # type: ignore[call-overload]
        counts=_sum_fields(reports, "counts"), gauges_min=_sum_fields(reports, "gauges_min"),
        arrivals=_sum_arrivals(reports),
    )


def _sum_arrivals(reports: list[dict[str, object]]) -> ArrivalCounts | None:
    counts = [report["arrivals"] for report in reports if report.get("arrivals")]
    if not counts:
        return None
    return ArrivalCounts(**{name: sum(int(c[name]) for c in counts) for name in vars(ArrivalCounts())})  # type: ignore[index]


def _sum_fields(reports: list[dict[str, object]], key: str) -> dict[str, float]:
    total: dict[str, float] = {}
    for report in reports:
        for name, value in dict(report.get(key) or {}).items():  # type: ignore[call-overload]
            total[name] = total.get(name, 0.0) + float(value)
    return total
