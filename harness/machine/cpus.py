"""CPU sets for the server and the load generator.

The server and the load generator must not compete for the same cores, or the load
generator's own CPU use shows up as the server's latency. By default the machine's usable
cores are split in two disjoint halves (on 2 cores: one each).
"""

from __future__ import annotations

import os

from harness.errors import BenchError


def available_cpus() -> list[int]:
    """Cores this process may run on (respects an outer taskset or cgroup)."""
    return sorted(os.sched_getaffinity(0))


def parse_cpu_list(text: str) -> list[int]:
    """Parse a Linux-style CPU list such as "0", "0,2" or "0-3,6"."""
    cpus: set[int] = set()
    try:
        for part in text.split(","):
            part = part.strip()
            if "-" in part:
                low, high = (int(x) for x in part.split("-", 1))
                if high < low:
                    raise ValueError
                cpus.update(range(low, high + 1))
            elif part:
                cpus.add(int(part))
    except ValueError:
        raise BenchError(f"bad CPU list {text!r}: expected e.g. '0', '0,2' or '0-3'") from None
    if not cpus:
        raise BenchError(f"bad CPU list {text!r}: it names no CPU")
    return sorted(cpus)


def format_cpu_list(cpus: list[int]) -> str:
    return ",".join(str(c) for c in cpus)


def split_cpus(
    server: str | None, loadgen: str | None, usable: list[int] | None = None
) -> tuple[list[int], list[int]]:
    """Resolve the two CPU sets; refuse overlapping sets or cores we may not use."""
    usable = usable if usable is not None else available_cpus()
    if len(usable) < 2 and (server is None or loadgen is None):
        # One core cannot be split: both share it, and the results say so.
        return usable, usable
    half = len(usable) // 2
    server_cpus = parse_cpu_list(server) if server else usable[:half]
    loadgen_cpus = parse_cpu_list(loadgen) if loadgen else [c for c in usable if c not in server_cpus]
    for name, cpus in (("--server-cpus", server_cpus), ("--loadgen-cpus", loadgen_cpus)):
        missing = sorted(set(cpus) - set(usable))
        if missing:
            raise BenchError(f"{name} names CPU {missing[0]}, but this process may only use {format_cpu_list(usable)}")
        if not cpus:
            raise BenchError(f"{name} is empty: no CPU is left for it")
    overlap = sorted(set(server_cpus) & set(loadgen_cpus))
    if overlap:
        raise BenchError(
            f"--server-cpus and --loadgen-cpus overlap on CPU {format_cpu_list(overlap)}: "
            "they must be disjoint so the load generator does not slow the server"
        )
    return server_cpus, loadgen_cpus
