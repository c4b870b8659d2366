"""`bench serve`: one target in the foreground, started exactly as the harness starts it."""

from __future__ import annotations

import time
from pathlib import Path

from harness.errors import BenchError
from harness.machine.cpus import available_cpus, format_cpu_list, parse_cpu_list
from harness.runtime import running
from harness.runtime.native import NativeRuntime
from harness.runtime.options import LaunchOptions
from harness.runtime.procs import sweep_orphans
from harness.targets import discover_targets, select_targets


def serve(targets_dir: Path, name: str, port: int, workers: int, cpus: str | None) -> None:
    (target,) = select_targets(discover_targets(targets_dir), [name])
    for stopped in sweep_orphans():
        print(f"stopped process {stopped}, left running by a killed harness")
    log_path = Path("build/logs") / f"serve-{target.name}-{port}.log"
    options = LaunchOptions(port=port, workers=workers, cpus=_usable(cpus) if cpus else None, log_path=log_path)
    with running(NativeRuntime(), target, options) as server:
        assert server.start is not None  # running() waited for it
        print(f"{target.display_name} at {server.base_url} (ready in {server.start.ready_ms:.0f} ms, log: {log_path});"
              " Ctrl-C stops it")
        while server.exit_code() is None:
            time.sleep(0.5)
        print(f"{target.name} exited with code {server.exit_code()}; its log ends: {server.log_tail()}")


def _usable(text: str) -> list[int]:
    """The CPU list, if this process may use every CPU of it (else taskset fails after the spawn)."""
    cpus, usable = parse_cpu_list(text), available_cpus()
    missing = sorted(set(cpus) - set(usable))
    if missing:
        raise BenchError(f"--cpus names CPU {missing[0]}, but this process may only use {format_cpu_list(usable)}")
    return cpus
