"""What every runtime hands back: a started server, its processes, its log, and how to stop it."""

from __future__ import annotations

import http.client
import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import BenchError
from harness.runtime.options import LaunchOptions
from harness.targets import Target

POLL_INTERVAL_S = 0.002  # fine enough for cold-start timing in milliseconds, cheap enough to not slow it


@dataclass
class StartTimings:
    """Milliseconds from spawn: first accepted TCP connection, first correct health answer."""

    listen_ms: float
    ready_ms: float


@dataclass
class Server:
    name: str
    host: str
    port: int
    health_path: str
    log_path: Path
    spawned_at_s: float  # time.perf_counter() just before the spawn call
    pids: Callable[[], list[int]]  # the server's whole process tree, as host PIDs
    exit_code: Callable[[], int | None]  # None while running
    stop: Callable[[], None]
    details: dict[str, object] = field(default_factory=dict)

    @classmethod
    def launched(cls, target: Target, options: LaunchOptions, spawned_at_s: float, pids: Callable[[], list[int]],
                 exit_code: Callable[[], int | None], stop: Callable[[], None], details: dict[str, object]) -> Server:
        """What every runtime's launch() returns: the target and options, plus its own handles."""
        return cls(name=target.name, host=options.host, port=options.port, health_path=target.health_path,
                   log_path=options.log_path, spawned_at_s=spawned_at_s, pids=pids, exit_code=exit_code, stop=stop,
                   details=details)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

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
            status, body = http_get(self.host, self.port, self.health_path, timeout_s=2.0)
        except (OSError, http.client.HTTPException):
            return False
        return status == 200 and _json_or_none(body) == {"status": "ok"}


def log_tail(path: Path, lines: int = 8) -> str:
    """The last lines of a log file on one line, for a one-line error message."""
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(text[-lines:]) or "(empty log)"


def http_get(host: str, port: int, path: str, timeout_s: float = 5.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(host, port, timeout=timeout_s)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _json_or_none(body: bytes) -> object:
    try:
        return json.loads(body)
    except ValueError:
        return None


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
