"""Runtimes start a target and hand back a `Server`; picked by name from a registry.

A runtime is an object (the `Runtime` protocol) that owns whatever state it keeps (engine
clients, image builds, started containers). The registry maps a name to "module:Class", as
Uvicorn maps its loop and protocol names, so that an unused runtime's dependencies (the Docker
SDK) are never imported. To add a runtime: write a class with these methods and add its line
to RUNTIMES.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from harness.errors import BenchError
from harness.machine.environment import RuntimeDescription
from harness.runtime.options import LaunchOptions, RuntimeSettings
from harness.runtime.server import Server
from harness.targets import Target

RUNTIMES = {
    "native": "harness.runtime.native:NativeRuntime",
    "docker": "harness.runtime.docker:DockerRuntime",
}


class Runtime(Protocol):
    name: str

    def check_available(self, targets: list[Target], settings: RuntimeSettings) -> None:
        """Raise BenchError before any trial if a target cannot run here (and prepare it: build images)."""
        ...

    def describe_environment(self, targets: list[Target], settings: RuntimeSettings) -> RuntimeDescription:
        """Facts for the results' environment (engine, images, the versions inside them)."""
        ...

    def launch(self, target: Target, options: LaunchOptions) -> Server:
        """Spawn the target and return at once (not yet ready: `Server.wait_ready` says when)."""
        ...

    def sweep_strays(self) -> list[str]:
        """Remove what a killed harness left in this runtime's own world (containers); describe each.

        Processes on this machine, servers and Locust alike, are swept by `procs.sweep_orphans`."""
        ...


def get_runtime(name: str) -> Runtime:
    """A new runtime of that name (its state starts empty: keep it for the run)."""
    if name not in RUNTIMES:
        raise BenchError(f"unknown runtime {name!r}; known: {', '.join(RUNTIMES)}")
    module_name, _, class_name = RUNTIMES[name].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise BenchError(f"runtime {name!r} is not available: {exc}") from None
    runtime: Runtime = getattr(module, class_name)()
    return runtime


@contextmanager
def running(runtime: Runtime, target: Target, options: LaunchOptions, timeout_s: float = 30.0) -> Iterator[Server]:
    """Start a target, wait until it is healthy (its `start` timings), and always stop it, even on Ctrl-C."""
    server = runtime.launch(target, options)
    try:
        server.start = server.wait_ready(timeout_s)
        yield server
    finally:
        server.stop()
