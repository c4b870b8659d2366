"""What every runtime hands back: a started server, its processes, its log, how to stop it, what it is."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from harness.errors import BenchError
from harness.runtime.http_client import ERRORS, get
from harness.runtime.options import LaunchOptions
from harness.targets import Target

POLL_INTERVAL_S = 0.002  # fine enough for cold-start timing in milliseconds, cheap enough to not slow it
HEALTH_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class StartTimings:
    """Milliseconds from spawn: first accepted TCP connection, first correct health answer."""

    listen_ms: float
    ready_ms: float


class ServerProcess(Protocol):
    """A runtime's handle on what it started: a process group, a container."""

    def pids(self) -> list[int]:
        """The server's whole process tree, as host PIDs; [] once stopped."""
        ...

    def exit_code(self) -> int | None:
        """None while running."""
        ...

    def stop(self) -> None:
        """Stop and clean up; idempotent."""
        ...


class RuntimeFacts(Protocol):
    """What a runtime says about one started server, for the trial's record in results.json."""

    @property
    def cgroup_memory_path(self) -> str | None:
        """The file holding the server's memory as its cgroup counts it, if it has a cgroup of its own."""
        ...

    def record(self) -> dict[str, Any]:
        """{"runtime": <name>, ...facts}: the trial's `server` entry in results.json."""
        ...


@dataclass
class Server:
    name: str
    host: str
    port: int
    health_path: str
    log_path: Path
    spawned_at_s: float  # time.perf_counter() just before the spawn call
    process: ServerProcess
    facts: RuntimeFacts
    start: StartTimings | None = None  # set once `runtime.running` has waited until it is ready

    @classmethod
    def launched(cls, target: Target, options: LaunchOptions, spawned_at_s: float, process: ServerProcess,
                 facts: RuntimeFacts) -> Server:
        """What every runtime's launch() returns: the target and options, plus its own handle and facts."""
        return cls(name=target.name, host=options.host, port=options.port, health_path=target.health_path,
                   log_path=options.log_path, spawned_at_s=spawned_at_s, process=process, facts=facts)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def cgroup_memory_path(self) -> str | None:
        return self.facts.cgroup_memory_path

    def pids(self) -> list[int]:
        return self.process.pids()

    def exit_code(self) -> int | None:
        return self.process.exit_code()

    def stop(self) -> None:
        self.process.stop()

    def record(self) -> dict[str, Any]:
        """The trial's `server` entry: start timings (when waited for), then the runtime's facts."""
        start = {"start": asdict(self.start)} if self.start is not None else {}
        return {**start, **self.facts.record()}

    def log_tail(self, lines: int = 8) -> str:
        return log_tail(self.log_path, lines)

    def _check_alive(self) -> None:
        code = self.exit_code()
        if code is not None:
            raise BenchError(f"{self.name} exited with code {code} during start-up; its log ends: {self.log_tail()}")

    def wait_ready(self, timeout_s: float = 30.0) -> StartTimings:
        """Poll until a TCP connect succeeds, then until the health path answers correctly."""
        deadline = self.spawned_at_s + timeout_s
        listen_at = self._poll(deadline, self._accepts_tcp, "accept a TCP connection")
        ready_at = self._poll(deadline, self._health_ok, f"answer 200 on {self.health_path}")
        return StartTimings(
            listen_ms=(listen_at - self.spawned_at_s) * 1000, ready_ms=(ready_at - self.spawned_at_s) * 1000
        )

    def _poll(self, deadline: float, probe: Callable[[], bool], what: str) -> float:
        while time.perf_counter() < deadline:
            self._check_alive()
            if probe():
                return time.perf_counter()
            time.sleep(POLL_INTERVAL_S)
        raise BenchError(f"{self.name} did not {what} within the start timeout; its log ends: {self.log_tail()}")

    def _accepts_tcp(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def _health_ok(self) -> bool:
        try:
            answer = get(self.host, self.port, self.health_path, timeout_s=HEALTH_TIMEOUT_S)
        except ERRORS:
            return False
        return answer.status == 200 and answer.json() == {"status": "ok"}


def log_tail(path: Path, lines: int = 8) -> str:
    """The last lines of a log file on one line, for a one-line error message."""
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(text[-lines:]) or "(empty log)"


def check_port_free(host: str, port: int) -> None:
    """Refuse a port something already listens on, before starting anything.

    SO_REUSEADDR, as Uvicorn and Node set it: without it, the sockets a past load left in
    TIME_WAIT (for a minute) make a free port look busy; with it, Linux still refuses the bind
    while a socket listens on the port.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            raise BenchError(f"port {port} on {host} is in use: stop what listens there or pick another port") from None


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
