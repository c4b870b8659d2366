"""`bench run --loadgen external:N`: the Locust master here, its N worker processes on other hosts.

The workers are `bench worker` processes (harness.loadgen.worker) that said hello to this run's
coordinator (harness.loadgen.coordinator) with the same harness version and files. Before the
first trial the run waits, bounded, until they offer N Locust processes between them; each
Locust run is then announced to them, and the master (bound to --master-bind) waits for them
as it waits for local workers.

Each run has a secret (printed once, or taken from trust.SECRET_ENV) that signs everything the
workers and the master say to each other (harness.loadgen.trust); a Locust run is announced to the
workers registered at its start, and its master keeps reports from their processes only. What
was refused is counted in `environment.topology.peer_refusals`.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from harness.errors import BenchError
from harness.loadgen import trust
from harness.loadgen.coordinator import Coordinator, WorkerEntry
from harness.loadgen.driver import LoadResult, LoadSpec, LocustProcesses
from harness.loadgen.identity import identity
from harness.runtime.docker_engine import engine_url

DEFAULT_MASTER_PORT = 5557  # Locust's own default; the coordinator listens one above it
DEFAULT_MASTER_HOST = "127.0.0.1"  # other hosts reach the master only through an address given to --master-bind
WHY_REFUSED = {  # a worker's refusal of a run (trust.REFUSAL_CODES), in words
    "scenario": "its scenario is not a file of the worker's checkout",
    "host": "the load's host is not one the worker may load (bench worker --allow-host)",
    "run": "the announcement was malformed",
}
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
    """"ADDR[:PORT]" -> (ADDR, PORT); default 127.0.0.1:5557 (loopback: no other host reaches it)."""
    if not text:
        return DEFAULT_MASTER_HOST, DEFAULT_MASTER_PORT
    host, _, port = text.rpartition(":") if ":" in text else (text, "", str(DEFAULT_MASTER_PORT))
    if not port.isdigit() or not 1 <= int(port) <= 65534 or not host:
        raise BenchError(f"--master-bind: expected ADDR[:PORT] (PORT 1-65534), got {text!r}")
    return host, int(port)


def _who(workers: list[WorkerEntry]) -> str:
    return ", ".join(f"{w.worker} ×{w.processes}" for w in workers) or "none"


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{reason} {n}" for reason, n in sorted(counts.items()))


def run_secret(environ: dict[str, str] | None = None) -> tuple[str, bool]:
    """(the secret, whether it was given ahead in trust.SECRET_ENV); a new random one otherwise."""
    given = (os.environ if environ is None else environ).get(trust.SECRET_ENV)
    if given is None:
        return trust.new_secret(), False
    try:
        return trust.check_secret(given), True
    except trust.Refused as exc:
        raise BenchError(str(exc)) from None


class ExternalWorkers:
    """The run's coordinator and the workers that joined it; `load_generator` is the trials' factory."""

    def __init__(self, expected: int, bind: tuple[str, int], scenarios_dir: Path, secret: str) -> None:
        self.expected = expected
        self.bind_host, self.master_port = bind
        self.scenarios_dir = scenarios_dir
        self.secret = secret
        self.topology: dict[str, Any] = {}  # environment.topology, once the workers have arrived
        self.dropped: Counter[str] = Counter()  # Locust messages the masters refused, over the run's Locust runs
        try:
            self.coordinator = Coordinator(identity(scenarios_dir), self.bind_host, self.master_port + 1, secret)
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
                if registry.refusals:
                    refused += f"{'; ' if refused else ''}requests refused: {_counts(registry.refusals)}"
                raise BenchError(
                    f"{sum(w.processes for w in present)} of {self.expected} external Locust workers arrived "
                    f"in {timeout_s:g} s ({_who(present)}); missing {self.expected - sum(w.processes for w in present)}"
                    f"{'; ' + refused if refused else ''}: start `bench worker --master "
                    f"{self.bind_host}:{self.master_port}` with this run's secret on the load-generator hosts"
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

    def record_refusals(self, dropped: dict[str, int]) -> None:
        """Add a Locust run's refused messages; environment.topology.peer_refusals holds the run's totals."""
        self.dropped.update(dropped)
        if self.topology:
            with self.coordinator.registry.lock:
                coordinator = dict(self.coordinator.registry.refusals)
            self.topology["peer_refusals"] = {"coordinator": coordinator, "locust": dict(self.dropped)}

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
        registry, run = self.external.coordinator.registry, uuid.uuid4().hex
        # This run's workers: those present now; its master keeps only their processes' reports.
        self.registered = {w.worker: w.processes for w in registry.present()}
        self.run_key = trust.run_key(self.external.secret, run)
        super().start()
        spec = self.spec
        registry.set_run({
            "run": run, "scenario": spec.scenario_file.name, "host_url": spec.host_url,
            "steps": [asdict(step) for step in spec.steps], "params": spec.params,
            "master_port": self.external.master_port, "run_time_s": spec.run_time_s,
        }, list(self.registered))  # fmt: skip

    def check_peers(self) -> None:
        """While the load runs: a worker that refused the run ends it, in one line."""
        refusals = self.external.coordinator.registry.run_refusals
        if refusals:
            worker, code = next(iter(refusals.items()))
            raise BenchError(f"external worker {worker} refused the Locust run: {WHY_REFUSED.get(code, code)}")

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
            dropped = f"; messages refused: {_counts(self.dropped)}" if self.dropped else ""
            raise BenchError(f"{exc} (external workers present: {_who(present)}{dropped})") from None
        finally:
            self.external.record_refusals(self.dropped)


def asdict_shallow(spec: LoadSpec) -> dict[str, Any]:
    return {name: getattr(spec, name) for name in LoadSpec.__dataclass_fields__}


def server_place(config: Any) -> dict[str, Any]:
    """Where the server runs, as environment.topology.server records it."""
    server = {"address": config.server_host, "netns": config.server_netns, "runtime": config.runtime}
    if config.runtime == "docker":  # the engine's host itself: environment.docker.engine_host
        server["engine"] = engine_url()
    return server


def run_topology(config: Any, workers: ExternalWorkers | None) -> dict[str, Any]:
    """environment.topology: the external workers' (the dict they keep their refusals in), or a local one."""
    return workers.topology if workers is not None else {"loadgen": "local", "server": server_place(config)}


def external_workers(config: Any) -> ExternalWorkers | None:
    """For `--loadgen external:N`: the coordinator, once N workers arrived, its topology recorded; else None."""
    expected = parse_loadgen(config.loadgen)
    if expected is None and config.master_bind:
        raise BenchError("--master-bind needs --loadgen external:N (local workers reach the master on loopback)")
    if config.server_netns and config.runtime != "native":
        raise BenchError("--server-netns is for the native runtime; a Docker engine's place is its DOCKER_HOST")
    if expected is None:
        return None
    secret, given = run_secret()
    workers = ExternalWorkers(expected, parse_bind(config.master_bind), config.scenarios_dir, secret)
    allow = "" if config.server_host == workers.bind_host else f" --allow-host {config.server_host}"
    command = f"bench worker --master {workers.bind_host}:{workers.master_port}{allow}"
    if given:
        print(f"bench: workers join with the secret in {trust.SECRET_ENV}: {command}", file=sys.stderr, flush=True)
    else:  # printed this once, never recorded
        print(f"bench: workers join with: {trust.SECRET_ENV}={secret} {command}", file=sys.stderr, flush=True)
    try:
        workers.wait_for_workers()
    except BaseException:
        workers.close()
        raise
    workers.topology.update({"loadgen": config.loadgen, "master_bind": f"{workers.bind_host}:{workers.master_port}",
                             "loadgen_hosts": workers.hosts(), "server": server_place(config)})
    workers.record_refusals({})
    return workers
