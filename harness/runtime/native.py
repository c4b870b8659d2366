"""Native runtime: the target runs as a plain process group on this machine, pinned to its CPUs.

It is spawned by `procs.spawn`, so it does not outlive a harness killed with SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil

from harness.errors import BenchError
from harness.machine.environment import RuntimeDescription
from harness.runtime import running
from harness.runtime.options import LaunchOptions, RuntimeSettings
from harness.runtime.procs import prepare_spawn, spawn
from harness.runtime.server import Server, check_port_free
from harness.targets import INSTALL_STAMP, Target

STOP_GRACE_S = 5.0


@dataclass(frozen=True)
class NativeFacts:
    command: list[str]
    pid: int

    @property
    def cgroup_memory_path(self) -> None:
        return None  # the server shares the harness's cgroup: its memory is read from its processes

    def record(self) -> dict[str, Any]:
        return {"runtime": NativeRuntime.name, **asdict(self)}


class NativeRuntime:
    name = "native"

    def check_available(self, targets: list[Target], settings: RuntimeSettings | None = None) -> None:
        """Fail early, before any trial, if a target's tools or installed dependencies are missing."""
        for target in targets:
            target.check_requirements()
            if target.native.install and not (target.directory / INSTALL_STAMP).exists():
                raise BenchError(f"target {target.name!r} is not installed: run `bench setup` (or `make setup`) first")

    def describe_environment(self, targets: list[Target], settings: RuntimeSettings | None = None
                             ) -> RuntimeDescription:
        return RuntimeDescription()  # the host's facts (harness.machine.environment) are the whole story

    def sweep_strays(self) -> list[str]:
        return []  # its servers are processes: procs.sweep_orphans covers them

    def launch(self, target: Target, options: LaunchOptions) -> Server:
        """Spawn the target and return at once; `Server.wait_ready` tells when it answers."""
        target.check_requirements()
        if options.netns is None:  # its address is not this namespace's: the server's own start says
            check_port_free(options.host, options.port)
        command, env_extra = target.native_command(options.host, options.port, options.workers)
        if options.netns is not None:  # execs in place: the server's pid is still the one sampled
            command = ["ip", "netns", "exec", options.netns, *command]
        env = {**os.environ, **env_extra, **options.extra_env}
        options.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = options.log_path.open("wb")
        prepare_spawn()  # its one-time probe must not land in the cold-start time
        spawned_at = time.perf_counter()
        try:
            # its own process group, so stop() reaches every worker; stopped if the harness is killed
            process = spawn(command, options.cpus, env, cwd=target.directory, stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT)
        except OSError as exc:
            raise BenchError(f"cannot start {target.name} (`{' '.join(command)}`): {exc.strerror}") from None
        finally:
            log.close()
        if options.protection is not None:
            options.protection.adopt("server", process.pid)  # before it forks workers: they start in the group too
        return Server.launched(target, options, spawned_at, ProcessGroup(process), NativeFacts(command, process.pid))


class ProcessGroup:
    """A spawned server: the leader of its own process group."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process

    def pids(self) -> list[int]:
        return process_tree(self.process.pid)

    def exit_code(self) -> int | None:
        return self.process.poll()

    def stop(self) -> None:
        """SIGTERM the whole group, wait, then SIGKILL whatever is left, including strays."""
        process = self.process
        strays = process_tree(process.pid)
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            _signal_group(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_GRACE_S)
        _signal_group(process.pid, signal.SIGKILL)  # workers that outlived their parent
        for pid in strays:
            with suppress(psutil.Error):
                psutil.Process(pid).kill()


def process_tree(pid: int) -> list[int]:
    try:
        root = psutil.Process(pid)
        return [pid] + [child.pid for child in root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


@contextmanager
def start_native(
    target: Target, port: int, workers: int = 1, cpus: list[int] | None = None, log_dir: Path = Path("build/logs")
) -> Iterator[Server]:
    """Convenience for tests and `bench serve`: a healthy native server, stopped on exit."""
    options = LaunchOptions(port=port, workers=workers, cpus=cpus, log_path=log_dir / f"{target.name}-{port}.log")
    with running(NativeRuntime(), target, options) as server:
        yield server
