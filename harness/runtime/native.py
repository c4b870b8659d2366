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
from pathlib import Path

import psutil

from harness import protect
from harness.errors import BenchError
from harness.runtime.options import LaunchOptions
from harness.runtime.procs import prepare_spawn, spawn
from harness.runtime.server import Server, check_port_free
from harness.targets import Target

STOP_GRACE_S = 5.0


def launch(target: Target, options: LaunchOptions) -> Server:
    """Spawn the target and return at once; `Server.wait_ready` tells when it answers."""
    target.check_requirements()
    check_port_free(options.host, options.port)
    command, env_extra = target.native_command(options.host, options.port, options.workers)
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
        log.close()
        raise BenchError(f"cannot start {target.name} (`{' '.join(command)}`): {exc.strerror}") from None
    finally:
        log.close()
    protect.adopt("server", process.pid)  # before it forks workers, which then start in the group too
    return Server.launched(
        target, options, spawned_at,
        pids=lambda: process_tree(process.pid),
        exit_code=process.poll,
        stop=lambda: stop_process_group(process),
        details={"runtime": "native", "command": command, "pid": process.pid},
    )  # fmt: skip


def process_tree(pid: int) -> list[int]:
    try:
        root = psutil.Process(pid)
        return [pid] + [child.pid for child in root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def stop_process_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the whole group, wait, then SIGKILL whatever is left, including strays."""
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


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


@contextmanager
def start_native(
    target: Target, port: int, workers: int = 1, cpus: list[int] | None = None, log_dir: Path = Path("build/logs")
) -> Iterator[Server]:
    """Convenience for tests and `bench serve`: a healthy native server, stopped on exit."""
    from harness.runtime import running

    options = LaunchOptions(port=port, workers=workers, cpus=cpus, log_path=log_dir / f"{target.name}-{port}.log")
    with running("native", target, options) as server:
        yield server


def check_available(targets: list[Target], config: object = None) -> None:
    """Fail early, before any trial, if a target's tools or installed dependencies are missing."""
    from harness.targets import INSTALL_STAMP

    for target in targets:
        target.check_requirements()
        if target.native.install and not (target.directory / INSTALL_STAMP).exists():
            raise BenchError(f"target {target.name!r} is not installed: run `bench setup` (or `make setup`) first")


def describe(targets: list[Target], config: object = None) -> dict[str, object]:
    """Runtime facts for the results' environment (the Docker runtime adds images here)."""
    return {}
