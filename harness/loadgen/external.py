"""`bench run --loadgen external:N`: the Locust master here, its N worker processes on other hosts.

The workers are `bench worker` processes (harness.loadgen.worker) that said hello to this run's
coordinator (harness.loadgen.coordinator) with the same harness version and files. Before the
first trial the run waits, bounded, until they offer N Locust processes between them; each
Locust run is then announced to them, and the master (bound to --master-bind) waits for them
as it waits for local workers.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

from harness.errors import BenchError
from harness.loadgen.coordinator import Coordinator, WorkerEntry
from harness.loadgen.driver import LoadResult, LoadSpec, LocustProcesses
from harness.loadgen.identity import identity
from harness.runtime.docker_engine import engine_url

DEFAULT_MASTER_PORT = 5557  # Locust's own default; the coordinator listens one above it
ARRIVE_TIMEOUT_S = 60.0
IDLE_WAIT_S = 15.0  # for a worker to stop its previous run's Locust processes (it polls every 0.2 s)


def parse_loadgen(text: str) -> int | None:
    """"local" -> None; "external:N" -> N (Locust worker processes expected from other hosts)."""
    if text == "local":
        return None
    kind, _, count = text.partition(":")
    if kind != "external" or not count.isdigit() or int(count) < 1:
        raise BenchError(f"--loadgen: expected 'local' or 'external:N' (N ≥ 1), got {text!r}")
    return int(count)


def parse_bind(text: str | None) -> tuple[str, int]:
    """"ADDR[:PORT]" -> (ADDR, PORT); default 0.0.0.0:5557."""
    if not text:
        return "0.0.0.0", DEFAULT_MASTER_PORT
    host, _, port = text.rpartition(":") if ":" in text else (text, "", str(DEFAULT_MASTER_PORT))
    if not port.isdigit() or not 1 <= int(port) <= 65534 or not host:
        raise BenchError(f"--master-bind: expected ADDR[:PORT] (PORT 1-65534), got {text!r}")
    return host, int(port)


def _who(workers: list[WorkerEntry]) -> str:
    return ", ".join(f"{w.worker} ×{w.processes}" for w in workers) or "none"


class ExternalWorkers:
    """The run's coordinator and the workers that joined it; `load_generator` is the trials' factory."""

    def __init__(self, expected: int, bind: tuple[str, int], scenarios_dir: Path) -> None:
        self.expected = expected
        self.bind_host, self.master_port = bind
        self.scenarios_dir = scenarios_dir
        try:
            self.coordinator = Coordinator(identity(scenarios_dir), self.bind_host, self.master_port + 1)
        except OSError as exc:
            raise BenchError(f"cannot listen for workers on {self.bind_host}:{self.master_port + 1}: "
                             f"{exc.strerror}") from None

    def wait_for_workers(self, timeout_s: float = ARRIVE_TIMEOUT_S) -> list[WorkerEntry]:
        """Until the present workers offer `expected` Locust processes; a one-line error after `timeout_s`."""
        registry = self.coordinator.registry
        deadline = time.monotonic() + timeout_s
        while True:
            present = registry.present()
            if sum(w.processes for w in present) >= self.expected:
                return present
            if time.monotonic() >= deadline:
                refused = "; ".join(f"{w} refused: {why}" for w, why in registry.refused.items())
                raise BenchError(
                    f"{sum(w.processes for w in present)} of {self.expected} external Locust workers arrived "
                    f"in {timeout_s:g} s ({_who(present)}); missing {self.expected - sum(w.processes for w in present)}"
                    f"{'; ' + refused if refused else ''}: start `bench worker --master "
                    f"{self.bind_host}:{self.master_port}` on the load-generator hosts"
                )
            time.sleep(0.1)

    def hosts(self) -> list[dict[str, Any]]:
        """results.json's `environment.loadgen_hosts`: one entry per worker host."""
        by_name: dict[str, dict[str, Any]] = {}
        for worker in self.coordinator.registry.present():
            entry = by_name.setdefault(worker.host["name"], {**worker.host, "processes": 0, "workers": []})
            entry["processes"] += worker.processes
            entry["workers"].append(worker.worker)
        return list(by_name.values())

    def load_generator(self, spec: LoadSpec, out_dir: Path) -> ExternalLocust:
        return ExternalLocust(spec, out_dir, self)

    def close(self) -> None:
        self.coordinator.close()


class ExternalLocust(LocustProcesses):
    """A Locust master alone, bound where external workers reach it; they are told of the run meanwhile."""

    def __init__(self, spec: LoadSpec, out_dir: Path, workers: ExternalWorkers) -> None:
        # The spec's worker count is the run's N: every external Locust process must report.
        super().__init__(LoadSpec(**{**asdict_shallow(spec), "workers": workers.expected}), out_dir)
        self.external = workers

    def commands(self) -> list[list[str]]:
        return [self._master(self.external.bind_host, self.external.master_port)]

    def prestart(self) -> None:
        """Nothing ahead: external workers are told of a run only once its server is ready."""

    def start(self) -> None:
        self._wait_idle()
        super().start()
        spec = self.spec
        self.external.coordinator.registry.set_run({
            "run": uuid.uuid4().hex, "scenario": spec.scenario_file.name, "host_url": spec.host_url,
            "steps": [asdict(step) for step in spec.steps], "params": spec.params,
            "master_port": self.external.master_port, "run_time_s": spec.run_time_s,
        })  # fmt: skip

    def _wait_idle(self) -> None:
        """Until every worker's Locust processes of the previous run are gone (bounded): the new master
        binds the same port, and ZeroMQ would reconnect an old process to it, counted as one of its workers."""
        deadline = time.monotonic() + IDLE_WAIT_S
        while self.external.coordinator.registry.busy() and time.monotonic() < deadline:
            time.sleep(0.05)

    def stop(self) -> None:
        self.external.coordinator.registry.set_run(None)
        super().stop()

    def result(self) -> list[LoadResult]:
        try:
            return super().result()
        except BenchError as exc:
            present = self.external.coordinator.registry.present()
            raise BenchError(f"{exc} (external workers present: {_who(present)})") from None


def asdict_shallow(spec: LoadSpec) -> dict[str, Any]:
    return {name: getattr(spec, name) for name in LoadSpec.__dataclass_fields__}


def external_workers(config: Any, environment: dict[str, Any]) -> ExternalWorkers | None:
    """For `--loadgen external:N`: the coordinator, once N workers arrived; records the topology either way."""
    expected = parse_loadgen(config.loadgen)
    if expected is None and config.master_bind:
        raise BenchError("--master-bind needs --loadgen external:N (local workers reach the master on loopback)")
    if config.server_netns and config.runtime != "native":
        raise BenchError("--server-netns is for the native runtime; a Docker engine's place is its DOCKER_HOST")
    server = {"address": config.server_host, "netns": config.server_netns, "runtime": config.runtime}
    if config.runtime == "docker":  # the engine's host itself: environment.docker.engine_host
        server["engine"] = engine_url()
    if expected is None:
        environment["topology"] = {"loadgen": "local", "server": server}
        return None
    workers = ExternalWorkers(expected, parse_bind(config.master_bind), config.scenarios_dir)
    try:
        workers.wait_for_workers()
    except BaseException:
        workers.close()
        raise
    environment["topology"] = {"loadgen": config.loadgen, "master_bind": f"{workers.bind_host}:{workers.master_port}",
                               "loadgen_hosts": workers.hosts(), "server": server}
    return workers
