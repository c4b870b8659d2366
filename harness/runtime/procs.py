"""The harness's child processes (servers, Locust): spawned so that none outlives a killed harness.

`Server.stop()` and `LocustProcesses.stop()` end them on a normal exit, an error or Ctrl-C; a
`kill -9` of the harness runs none of that, so two guards cover it, as neither alone is enough:

1. A parent-death signal (Linux `prctl(PR_SET_PDEATHSIG)`), set by `setpriv --pdeathsig TERM`,
   which then execs the command in place (as `taskset` does: no extra process, about a
   millisecond). When the harness dies, even by SIGKILL, the kernel sends SIGTERM to the direct
   child. The setting is cleared in a fork's child, so it reaches the server's workers only
   through the server: Uvicorn's supervisor and the Express primary both stop their workers on
   SIGTERM. The kernel sends it when the *thread* that spawned the child ends, so children are
   spawned from the main thread only (a worker thread's end would stop its server). It misses a
   child that ignores SIGTERM, and a harness that dies between fork and exec.
2. An owner label, as the Docker runtime labels its containers: every child gets
   BENCH_OWNER=<harness pid>:<harness start time> in its environment, which its workers inherit.
   `sweep_orphans()`, called when a run or `bench serve` starts, stops every process of this user
   whose label names a harness that is no longer running. The start time makes a recycled pid
   harmless: a new process under the old pid has another start time, and a process without the
   label is never touched.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
from collections.abc import Mapping
from contextlib import suppress
from typing import Any

import psutil

OWNER_ENV = "BENCH_OWNER"
SWEEP_GRACE_S = 3.0  # SIGTERM, then SIGKILL after this


def pinned(command: list[str], cpus: list[int] | None) -> list[str]:
    """Prefix `taskset` so the pin applies before exec and every forked worker inherits it.

    (A `preexec_fn` would do the same but is unsafe while the sampler thread runs.)
    """
    if not cpus:
        return command
    return ["taskset", "--cpu-list", ",".join(map(str, cpus)), *command]


@functools.cache
def _setpriv_pdeathsig() -> bool:
    """Whether `setpriv --pdeathsig` works here (util-linux 2.33 or later, Linux only)."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return False
    try:
        probe = subprocess.run([setpriv, "--pdeathsig", "TERM", "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def with_parent_death_signal(command: list[str]) -> list[str]:
    """The command, prefixed so the kernel sends it SIGTERM when the harness dies (guard 1)."""
    if not _setpriv_pdeathsig():
        return command
    return ["setpriv", "--pdeathsig", "TERM", *command]


@functools.cache
def owner_label() -> str:
    """This harness process: its pid and start time (a recycled pid has another start time)."""
    return _label(os.getpid())


def _label(pid: int) -> str:
    return f"{pid}:{psutil.Process(pid).create_time():.2f}"


def prepare_spawn() -> None:
    """Do spawn()'s one-time work (a probe of `setpriv`) now, outside any timed start."""
    with_parent_death_signal([])
    owner_label()


def spawn(command: list[str], cpus: list[int] | None = None, env: Mapping[str, str] | None = None,
          **popen: Any) -> subprocess.Popen[bytes]:
    """Popen in a new session (its own process group, so a stop reaches every worker), pinned to
    `cpus`, labelled with its owner and signalled when the harness dies.

    The caller's OSError (command not found) propagates; the caller words it."""
    labelled = {**(os.environ if env is None else env), OWNER_ENV: owner_label()}
    return subprocess.Popen(with_parent_death_signal(pinned(command, cpus)), env=labelled, start_new_session=True,
                            **popen)


def owner_running(label: str) -> bool:
    """Whether the harness a label names is still running (guard 2)."""
    pid, _, _ = label.partition(":")
    if not pid.isdigit():
        return False
    try:
        return _label(int(pid)) == label
    except psutil.Error:
        return False


def orphans() -> list[psutil.Process]:
    """This user's processes labelled by a harness that is gone; never this process or its ancestors.

    Under root, every user's: PostgreSQL refuses root, so a root harness runs it as another user
    (harness.database), and the label alone says whose it is."""
    spared = {os.getpid(), *(p.pid for p in psutil.Process().parents())}
    found = []
    for process in psutil.process_iter(["uids"]):
        uids = process.info["uids"]
        if process.pid in spared or uids is None or (uids.real != os.getuid() and os.getuid() != 0):
            continue
        try:
            label = process.environ().get(OWNER_ENV)
        except psutil.Error:  # gone, a zombie, or not readable
            continue
        if label and not owner_running(label):
            found.append(process)
    return found


def sweep_orphans() -> list[str]:
    """Stop what a killed harness left running (SIGTERM, then SIGKILL); describe each one stopped."""
    found = orphans()
    described = []
    for process in found:
        with suppress(psutil.Error):
            described.append(f"{process.pid} ({' '.join(process.cmdline())[:80]})")
            process.send_signal(signal.SIGTERM)
    _, alive = psutil.wait_procs(found, timeout=SWEEP_GRACE_S)
    for process in alive:
        with suppress(psutil.Error):
            process.kill()
    psutil.wait_procs(alive, timeout=SWEEP_GRACE_S)
    return described
