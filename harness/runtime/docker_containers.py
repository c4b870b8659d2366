"""The Docker runtime's containers: started, watched, stopped, and never left behind.

Every container started here carries the labels of harness.runtime.docker_engine and is
removed by `Server.stop()`, and, should a run die before that (Ctrl-C, a failure), by an
`atexit` hook; `sweep_strays` removes labelled containers whose harness process is gone (a
harness killed with SIGKILL runs no hook).
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import docker.errors
import psutil

from harness.errors import BenchError
from harness.runtime.docker_engine import LABEL, OWNER_LABEL, Engine, engine_url
from harness.runtime.docker_stats import EngineStats
from harness.runtime.native import process_tree
from harness.sampler import Reading

STOP_GRACE_S = 5


class Containers:
    """The containers this harness process started, until removed; removed at exit otherwise."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._started: dict[str, str] = {}  # container name -> engine address it was started on
        self._lock = threading.Lock()
        atexit.register(self.remove_started)

    def run(self, image: str, name: str, log_path: Path, host_pids: bool = True, **kwargs: Any) -> Container:
        """Start a detached container; raises docker.errors.APIError, after removing what was made.
        `host_pids`: its processes are visible here (a local engine); otherwise it is read through the engine."""
        with self._lock:
            self._started[name] = engine_url()
        try:
            container = self.engine.client().containers.run(image, name=name, detach=True, **kwargs)
        except docker.errors.APIError:
            self.remove(name)
            raise
        return Container(container, log_path, lambda: self.remove(name), host_pids)

    def remove(self, name: str) -> None:
        """Force-remove a container (and its volumes); quiet when it or the engine is gone."""
        with suppress(docker.errors.NotFound):
            try:
                self.engine.client().containers.get(name).remove(force=True, v=True)
            except (docker.errors.DockerException, BenchError):
                return  # the engine is gone: nothing left to remove there; atexit tries again
        with self._lock:
            self._started.pop(name, None)

    def remove_started(self) -> None:
        """Force-remove every container this process started and that is still there."""
        with self._lock:
            names = list(self._started.items())
        for name, url in names:
            with suppress(Exception):
                client = self.engine.known(url)
                if client is not None:
                    client.containers.get(name).remove(force=True, v=True)
            with self._lock:
                self._started.pop(name, None)

    def sweep_strays(self) -> list[str]:
        """Remove labelled containers of this host whose harness process is gone (a killed run)."""
        removed: list[str] = []
        host = os.uname().nodename
        try:
            # ignore_removed: a container removed between the engine's list and docker-py's inspect of it
            # (a run ending meanwhile) is left out, rather than failing the whole sweep with NotFound.
            containers = self.engine.client().containers.list(all=True, filters={"label": LABEL}, ignore_removed=True)
        except docker.errors.DockerException:
            return removed
        for container in containers:
            owner_host, _, pid = container.labels.get(OWNER_LABEL, "").rpartition(":")
            if owner_host != host or not pid.isdigit() or psutil.pid_exists(int(pid)):
                continue
            with suppress(docker.errors.DockerException):
                container.remove(force=True, v=True)
                removed.append(container.name)
        return removed


class Container:
    """A started container (a `ServerProcess`): its processes as host PIDs, its exit code, its removal."""

    def __init__(self, container: Any, log_path: Path, remove: Callable[[], None], host_pids: bool = True) -> None:
        self.container = container
        self.host_pids = host_pids
        # A remote engine's container: CPU and memory from its stats API, liveness and exit code from its API.
        self.engine_stats = None if host_pids else EngineStats(container)
        self.log_path = log_path
        self._remove = remove
        self.pid: int | None = None
        self._create_time: float | None = None
        self._exit: int | None = None
        self._stopped = False
        self._lock = threading.Lock()
        with suppress(docker.errors.DockerException):
            container.reload()
            state = container.attrs.get("State", {})
            self.pid = (int(state.get("Pid") or 0) or None) if host_pids else None  # another host's pid
            if not state.get("Running", False):
                self._exit = int(state.get("ExitCode", -1))
        if self.pid:
            with suppress(psutil.Error):
                self._create_time = psutil.Process(self.pid).create_time()

    @property
    def id(self) -> str:
        return str(self.container.id)

    def _init_alive(self) -> bool:
        """Cheap (no API call): is the container's init process still there? Polled every few ms."""
        if self.pid is None:
            return False
        try:
            process = psutil.Process(self.pid)
            return process.create_time() == self._create_time and process.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False

    def engine_readings(self) -> list[Reading] | None:
        """The engine's readings so far (a remote engine); None when its processes are read here."""
        return None if self.engine_stats is None else list(self.engine_stats.readings)

    def engine_memory_bytes(self) -> int | None:
        """A remote engine's container: its memory now, from one stats call (cgroup usage less inactive
        file cache, as docker_stats reads it); None for a local engine, whose processes are read here."""
        if self.engine_stats is None:
            return None
        try:
            memory = self.container.stats(stream=False).get("memory_stats") or {}
        except docker.errors.DockerException:
            return None
        return max(0, int(memory.get("usage", 0)) - int((memory.get("stats") or {}).get("inactive_file", 0)))

    def pids(self) -> list[int]:
        if self._stopped or self.pid is None:
            return []
        return process_tree(self.pid) if self._init_alive() else []

    def exit_code(self) -> int | None:
        if self._exit is not None:
            return self._exit
        if self._stopped:
            return -1
        if self._init_alive():
            return None
        try:  # init is gone: ask the engine for the exit code and keep the log for `log_tail`
            self.container.reload()
            state = self.container.attrs.get("State", {})
            if state.get("Running", False) and not state.get("Restarting", False):
                return None
            self._exit = int(state.get("ExitCode", -1))
        except docker.errors.NotFound:
            self._exit = -1
        except docker.errors.DockerException:
            return None
        self.save_logs()
        return self._exit

    def save_logs(self) -> None:
        with suppress(docker.errors.DockerException, OSError):
            self.log_path.write_bytes(self.container.logs(stdout=True, stderr=True))

    def stop(self) -> None:
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            if self.engine_stats is not None:
                self.engine_stats.stop()
            try:
                with suppress(docker.errors.DockerException):
                    self.container.stop(timeout=STOP_GRACE_S)
                self.save_logs()
            finally:
                self._remove()
