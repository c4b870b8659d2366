"""`bench worker`: Locust worker processes on this host for a master on another.

It says hello to the master's coordinator (harness.loadgen.coordinator: its version, files and
host), then polls for Locust runs; for each new run it starts `processes` Locust workers, pinned
to its CPUs, with the run's scenario and steps, and waits for them (bounded by the run's time).
Every request is signed with the run's secret and only answers signed back count
(harness.loadgen.trust): a run is taken only from the master, and only if its scenario is a file of
this checkout's scenarios and its load goes to a host this worker may load (`allow_hosts`, default
the master's host); a run refused so is told to the master, which stops it in one line.
It exits after `idle_timeout_s` without reaching a master (none started, or its run is over), or
after `lifetime_s` in all, so a forgotten worker does not stay forever.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.errors import BenchError
from harness.loadgen import trust
from harness.loadgen.driver import EXIT_GRACE_S, PLUGIN
from harness.loadgen.identity import host_facts, identity
from harness.loadgen.params import HOST_ENV, HOST_URL_ENV, PARAMS_ENV, REPORT_KEY_ENV, STEPS_ENV, WORKER_ID_ENV
from harness.loadgen.trust import Refused
from harness.machine import protect
from harness.runtime.procs import spawn

POLL_S = 0.2
REQUEST_TIMEOUT_S = 5.0
ANSWER_DEADLINE_S = 10.0  # a whole answer, however slowly it comes
MASTER_GONE_S = 10.0  # unreachable this long during a run: the harness has stopped (or died)
IDLE_TIMEOUT_S = 300.0
LIFETIME_S = 12 * 3600.0  # a worker serves one `bench run`, or a few: then it exits, wherever its polls went
MAX_WAIT_S = 7 * 24 * 3600.0  # the most --idle-timeout and --lifetime accept


def _read(answer: Any, deadline: float) -> bytes:
    """An answer's body, at most trust.MAX_ANSWER_BYTES + 1 bytes, by `deadline`: a peer that trickles it
    byte by byte does not hold this worker (each read is bounded by REQUEST_TIMEOUT_S besides)."""
    body = b""
    while len(body) <= trust.MAX_ANSWER_BYTES:
        if time.monotonic() > deadline:
            raise TimeoutError("the answer took too long")
        chunk = answer.read1(65536)
        if not chunk:
            break
        body += chunk
    return body


def _host_name(hostname: str) -> str:
    """The hostname as a worker's name: only what trust.HOST_NAME_RE accepts."""
    name = re.sub(r"[^A-Za-z0-9._-]", "-", hostname).lstrip("._-")[:63]
    return name or "worker"


class Unreachable(Exception):
    """No answer from the master, or none signed with the secret: not contact."""


@dataclass(frozen=True)
class WorkerOptions:
    master_host: str
    master_port: int
    secret: str
    name: str | None = None
    cpus: list[int] | None = None
    processes: int = 1
    scenarios_dir: Path = Path("scenarios")
    idle_timeout_s: float = IDLE_TIMEOUT_S
    log_dir: Path = Path("build/worker-logs")
    allow_hosts: tuple[str, ...] = ()  # hosts the load may go to; () = the master's host only
    lifetime_s: float = LIFETIME_S


class Worker:
    def __init__(self, options: WorkerOptions) -> None:
        self.options = options
        self.facts = host_facts(options.name or _host_name(platform.node()), options.cpus)
        self.ended = ""  # why serving ended, for the last line
        # Unique though pids repeat across hosts and pods (each pod's worker may well be pid 1 or 7).
        self.worker_id = f"{self.facts.name}/{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.base = f"http://{options.master_host}:{options.master_port + 1}"
        self.protection = "unprotected: not serving"
        self.allow_hosts = options.allow_hosts or (options.master_host,)
        self.unsigned = 0  # answers ignored: not signed with this worker's secret

    def _call(self, path: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        """One signed request; the answer if the master signed it. Unreachable otherwise; a refusal of this
        worker's own signature (401: a wrong secret) is a BenchError, in one line."""
        data = b"" if body is None else json.dumps(body).encode()
        method, nonce = ("GET" if body is None else "POST"), trust.new_nonce()
        headers = {"Content-Type": "application/json", trust.NONCE_HEADER: nonce,
                   trust.MAC_HEADER: trust.request_mac(self.options.secret, method, path, nonce, data)}
        request = urllib.request.Request(self.base + path, data=data if body is not None else None, headers=headers,
                                         method=method)
        deadline = time.monotonic() + ANSWER_DEADLINE_S
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as answer:
                status, mac, raw = answer.status, answer.headers.get(trust.MAC_HEADER), _read(answer, deadline)
        except urllib.error.HTTPError as exc:
            status, mac, raw = exc.code, exc.headers.get(trust.MAC_HEADER), _read(exc, deadline)
        except (OSError, ValueError) as exc:  # the master is not up (yet, or any more), or too slow
            raise Unreachable(str(exc)) from None
        if not trust.mac_ok(trust.secret_key(self.options.secret), mac, "answer", nonce, str(status), raw):
            if status == 401:
                raise BenchError(f"the master at {self.base} refused this worker's signature: "
                                 f"not the run's secret (--secret or {trust.SECRET_ENV})")
            self.unsigned += 1
            if self.unsigned == 1:
                print(f"bench worker: an answer from {self.base} is not signed with this worker's secret "
                      "(not the run's master, or another secret): ignored", flush=True)
            raise Unreachable("unsigned answer")
        try:
            answer = trust.strict_json(raw, trust.MAX_ANSWER_BYTES)
        except Refused as exc:
            raise Unreachable(f"a malformed answer: {exc}") from None
        if not isinstance(answer, dict):
            raise Unreachable("a malformed answer")
        return status, answer

    def hello(self) -> None:
        """Register; a mismatch is refused by the master in one line, and ends this worker."""
        status, answer = self._call("/hello", {
            "worker": self.worker_id, "processes": self.options.processes,
            "identity": asdict(identity(self.options.scenarios_dir)),
            "host": {**self.facts.record(), "protection": self.protection},
        })  # fmt: skip
        if status != 200:
            raise BenchError(f"the master refused this worker: {str(answer.get('error', status))[:300]}")

    def serve(self) -> int:
        """Poll and run until idle; inside the load generator's CPU protection, as a run's local workers are
        (harness.machine.protect: the highest CPU weight against neighbours on this host), which it always removes."""
        with protect.protected(f"worker-{self.worker_id.replace('/', '-')}", roles=("loadgen",)) as protection:
            protection.adopt("loadgen", os.getpid())  # the Locust processes it starts are born in the group
            self.protection = protection.status
            return self._serve()

    def scenario_names(self) -> set[str]:
        """The scenario files the identity hashes (harness.loadgen.identity.files_hash): the only ones it runs."""
        return {path.name for path in self.options.scenarios_dir.glob("*.py")}

    def _serve(self) -> int:
        """Poll and run until idle for `idle_timeout_s`, or `lifetime_s` in all; return the number of Locust
        runs joined. Only signed answers count as contact: anyone else answering does not keep it here."""
        options = self.options
        started = last_contact = time.monotonic()
        last_run, runs, registered = None, 0, False

        def serving() -> bool:
            now = time.monotonic()
            return now - last_contact < options.idle_timeout_s and now - started < options.lifetime_s

        while serving():
            try:
                if not registered:
                    self.hello()
                    registered = True
                _, answer = self._call(f"/run?worker={self.worker_id}")
            except Unreachable:
                time.sleep(POLL_S)
                continue
            # Reached: a master that is building images or between trials is not a reason to leave.
            last_contact = time.monotonic()
            if answer.get("hello"):
                registered = False
                continue
            if answer.get("run") and answer["run"] != last_run:
                last_run = answer["run"]
                try:
                    run = trust.check_run(answer, self.scenario_names(), self.allow_hosts)
                except Refused as exc:
                    self._refuse(answer, exc)
                    continue
                self.run_locust(run)
                runs += 1
                last_contact = time.monotonic()
            time.sleep(POLL_S)
        self.ended = (f"no master reached for {options.idle_timeout_s:g} s" if time.monotonic() - started
                      < options.lifetime_s else f"served for its lifetime, {options.lifetime_s:g} s")
        return runs

    def _refuse(self, answer: dict[str, Any], why: Refused) -> None:
        """Tell the master (once; it stops the run in one line) and say why here."""
        run = str(answer["run"])
        print(f"bench worker: refused run {run[:8]}: {why}", flush=True)
        code = why.reason if why.reason in trust.REFUSAL_CODES else "run"
        if trust.RUN_ID_RE.fullmatch(run):
            with contextlib.suppress(Unreachable):  # else the master finds this worker's processes missing
                self._call(f"/run?worker={self.worker_id}&refused={run}:{code}")

    def run_locust(self, run: dict[str, Any]) -> None:
        """This host's Locust workers for one run, pinned, waited for (bounded), always stopped."""
        options = self.options
        scenario = options.scenarios_dir / run["scenario"]  # checked: a file name of this checkout's scenarios
        command = [sys.executable, "-m", "locust", "-f", f"{scenario},{PLUGIN}", "--worker",
                   "--master-host", options.master_host, "--master-port", str(run["master_port"]),
                   "--host", run["host_url"], "--loglevel", "WARNING"]  # fmt: skip
        key = trust.report_key(trust.run_key(options.secret, run["run"]), self.worker_id)
        env = {**{name: value for name, value in os.environ.items() if name != trust.SECRET_ENV},
               STEPS_ENV: json.dumps(run["steps"]), PARAMS_ENV: json.dumps(run["params"]),
               HOST_ENV: self.facts.name, HOST_URL_ENV: run["host_url"], WORKER_ID_ENV: self.worker_id,
               REPORT_KEY_ENV: key.hex(), "PYTHONUNBUFFERED": "1"}  # fmt: skip
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
            except Unreachable:
                if time.monotonic() - reached > MASTER_GONE_S:
                    return f"the master was unreachable for {MASTER_GONE_S:g} s"
                continue
            reached = time.monotonic()
            if answer.get("run") != run["run"]:
                return "the master ended the run"
        return "the Locust processes exited"
