"""`bench worker`: Locust worker processes on this host for a master on another.

It says hello to the master's coordinator (harness.loadgen.coordinator: its version, files and
host), then polls for Locust runs; for each new run it starts `processes` Locust workers, pinned
to its CPUs, with the run's scenario and steps, and waits for them (bounded by the run's time).
It exits after `idle_timeout_s` without reaching a master (none started, or its run is over),
so a forgotten worker does not stay forever.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness import protect
from harness.errors import BenchError
from harness.loadgen.driver import EXIT_GRACE_S, PLUGIN
from harness.loadgen.identity import host_facts, identity
from harness.loadgen.params import HOST_ENV, PARAMS_ENV, STEPS_ENV
from harness.runtime.procs import spawn

POLL_S = 0.2
REQUEST_TIMEOUT_S = 5.0
MASTER_GONE_S = 10.0  # unreachable this long during a run: the harness has stopped (or died)


@dataclass(frozen=True)
class WorkerOptions:
    master_host: str
    master_port: int
    name: str | None = None
    cpus: list[int] | None = None
    processes: int = 1
    scenarios_dir: Path = Path("scenarios")
    idle_timeout_s: float = 300.0
    log_dir: Path = Path("build/worker-logs")


class Worker:
    def __init__(self, options: WorkerOptions) -> None:
        self.options = options
        self.facts = host_facts(options.name, options.cpus)
        # Unique though pids repeat across hosts and pods (each pod's worker may well be pid 1 or 7).
        self.worker_id = f"{self.facts.name}/{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.base = f"http://{options.master_host}:{options.master_port + 1}"
        self.protection = "unprotected: not serving"

    def _call(self, path: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    def hello(self) -> None:
        """Register; a mismatch is refused by the master in one line, and ends this worker."""
        status, answer = self._call("/hello", {
            "worker": self.worker_id, "processes": self.options.processes,
            "identity": asdict(identity(self.options.scenarios_dir)),
            "host": {**self.facts.record(), "protection": self.protection},
        })  # fmt: skip
        if status != 200:
            raise BenchError(f"the master refused this worker: {answer.get('error', status)}")

    def serve(self) -> int:
        """Poll and run until idle; inside the load generator's CPU protection, as a run's local workers are
        (harness.protect: the highest CPU weight against neighbours on this host), which it always removes."""
        with protect.protected(f"worker-{self.worker_id.replace('/', '-')}", roles=("loadgen",)) as protection:
            protection.adopt("loadgen", os.getpid())  # the Locust processes it starts are born in the group
            self.protection = protection.status
            return self._serve()

    def _serve(self) -> int:
        """Poll and run until idle for `idle_timeout_s`; return the number of Locust runs joined."""
        last_contact, last_run, runs, registered = time.monotonic(), None, 0, False
        while time.monotonic() - last_contact < self.options.idle_timeout_s:
            try:
                if not registered:
                    self.hello()
                    registered = True
                _, answer = self._call(f"/run?worker={self.worker_id}")
            except (OSError, ValueError):  # the master is not up (yet, or any more)
                time.sleep(POLL_S)
                continue
            # Reached: a master that is building images or between trials is not a reason to leave.
            last_contact = time.monotonic()
            if answer.get("hello"):
                registered = False
                continue
            if answer.get("run") and answer["run"] != last_run:
                last_run = answer["run"]
                self.run_locust(answer)
                runs += 1
                last_contact = time.monotonic()
            time.sleep(POLL_S)
        return runs

    def run_locust(self, run: dict[str, Any]) -> None:
        """This host's Locust workers for one run, pinned, waited for (bounded), always stopped."""
        options = self.options
        scenario = options.scenarios_dir / Path(run["scenario"]).name
        command = [sys.executable, "-m", "locust", "-f", f"{scenario},{PLUGIN}", "--worker",
                   "--master-host", options.master_host, "--master-port", str(run["master_port"]),
                   "--host", run["host_url"], "--loglevel", "WARNING"]  # fmt: skip
        env = {**os.environ, STEPS_ENV: json.dumps(run["steps"]), PARAMS_ENV: json.dumps(run["params"]),
               HOST_ENV: self.facts.name, "PYTHONUNBUFFERED": "1"}  # fmt: skip
        options.log_dir.mkdir(parents=True, exist_ok=True)
        with (options.log_dir / f"locust-worker-{os.getpid()}.log").open("ab") as log:
            processes = [spawn(command, options.cpus, env, stdin=subprocess.DEVNULL, stdout=log,
                               stderr=subprocess.STDOUT) for _ in range(options.processes)]
        try:
            why = self._wait(processes, run)
            print(f"bench worker: run {run['run'][:8]} ({run['scenario']}): {why}", flush=True)
        finally:
            for process in processes:
                if process.poll() is None:
                    process.kill()
                    process.wait()

    def _wait(self, processes: list[subprocess.Popen[bytes]], run: dict[str, Any]) -> str:
        """Until they exit, the master ends the run (its master is then killed, and a Locust worker would
        wait a minute for its heartbeat), the master is unreachable for MASTER_GONE_S, or the run's time
        is over; returns which, for the log. One failed poll is not the end: the harness may be busy."""
        deadline = time.monotonic() + float(run["run_time_s"]) + EXIT_GRACE_S
        reached = time.monotonic()
        while any(p.poll() is None for p in processes):
            if time.monotonic() >= deadline:
                return "the run's time is over"
            time.sleep(POLL_S)
            try:
                _, answer = self._call(f"/run?worker={self.worker_id}&running={run['run']}")
            except (OSError, ValueError):
                if time.monotonic() - reached > MASTER_GONE_S:
                    return f"the master was unreachable for {MASTER_GONE_S:g} s"
                continue
            reached = time.monotonic()
            if answer.get("run") != run["run"]:
                return "the master ended the run"
        return "the Locust processes exited"
