"""Runtimes start a target and hand back a `Server`; picked by name from a registry.

A runtime is a module with three functions:
  launch(target, options: LaunchOptions) -> Server    spawn and return at once (not yet ready)
  check_available(targets, config) -> None            raise BenchError before any trial if it cannot run
  describe(targets, config) -> dict                   facts for the results' environment (images, versions)
The registry maps a name to its module path so that an unused runtime's dependencies (the
Docker SDK) are never imported.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

from harness.errors import BenchError
from harness.runtime.options import LaunchOptions
from harness.runtime.server import Server
from harness.targets import Target

RUNTIMES = {
    "native": "harness.runtime.native",
    "docker": "harness.runtime.docker",
}


def get_runtime(name: str) -> ModuleType:
    if name not in RUNTIMES:
        raise BenchError(f"unknown runtime {name!r}; known: {', '.join(RUNTIMES)}")
    try:
        return importlib.import_module(RUNTIMES[name])
    except ModuleNotFoundError as exc:
        raise BenchError(f"runtime {name!r} is not available: {exc}") from None


@contextmanager
def running(runtime: str, target: Target, options: LaunchOptions, timeout_s: float = 30.0) -> Iterator[Server]:
    """Start a target, wait until it is healthy, and always stop it, even on Ctrl-C."""
    server = get_runtime(runtime).launch(target, options)
    try:
        server.details["start"] = server.wait_ready(timeout_s)
        yield server
    finally:
        server.stop()
